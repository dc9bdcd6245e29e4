"""The check every export ends with: run the artifact on pairs it was not calibrated on and compare it with torch.

A denoiser is scored on validation pairs (``pngan.runtimes.val_sets``: ``--val-pairs`` folders, by default the
shipped samples at three noise levels from DSLR to phone), never on its calibration crops: the denoised-PSNR
change of each folder (the paper metric, as ``pngan denoise`` and ``pngan parity``) must stay within the budget
``--max-drop``, and the output PSNR vs torch and its margin over the identity baseline follow the rules of
``pngan parity`` (``pngan.runtimes.parity_rules``). A generator has no clean targets: it is run on a few of its
inputs. The record is the manifest's ``validation``, printed as one line per artifact.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn as nn

from pngan.calibration import CalibrationSource
from pngan.errors import BackendMissingError
from pngan.runtimes.base import PlatformError
from pngan.runtimes.parity_rules import DEFAULT_MAX_DROP, Scores, Thresholds, judge, margin
from pngan.runtimes.val_sets import ValSet, default_val_sets, score_sets, worst

VALIDATE_IMAGES = 4


def validation_images(generator: bool, calibration: CalibrationSource | None, sigma: float,
                      seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], str]:
    """A generator's validation inputs ``[(1x3xHxW, None)]`` and where they come from.

    A few calibration crops (a generator's real input, clean + AWGN), else the shipped samples + AWGN.
    Denoisers are validated on pairs they were not calibrated on instead (``pngan.runtimes.val_sets``).
    """
    if calibration is not None:
        items = [(x, None) for x, _ in calibration.pairs[:VALIDATE_IMAGES]]
        return items, f"{len(items)} calibration crops"
    from pngan.runtimes.parity_data import synthetic_pairs

    rng = np.random.default_rng(seed)
    pairs = synthetic_pairs(seed)
    items = [(_nchw(np.clip(c + sigma / 255.0 * rng.standard_normal(c.shape), 0, 1)), None)
             for _, _, c in pairs.items]
    return items, f"{len(items)} shipped samples + AWGN {sigma:g}/255"


def _open(folder: Path) -> Any:
    from pngan.runtimes.opening import open_artifact

    try:
        return open_artifact(folder), None
    except (PlatformError, BackendMissingError) as e:
        return None, {"status": "not validated", "reason": _why_not(str(e))}


def _output_scores(pairs: list[tuple[np.ndarray, np.ndarray]], xs: list[np.ndarray]) -> Scores:
    """Output PSNR vs torch and the margin over the identity baseline, over ``(torch, artifact)`` outputs."""
    from pngan.metrics import psnr_float

    dbs = [psnr_float(r, y) for r, y in pairs]
    margins = [margin(db, psnr_float(r, x)) for db, (r, _), x in zip(dbs, pairs, xs)]
    return Scores(min(dbs), min(margins), float(np.mean(margins)))


def validate_artifact(folder: Path, net: nn.Module, *, generator: bool,
                      images: list[tuple[np.ndarray, np.ndarray | None]] | None = None, source: str = "",
                      val_sets: list[ValSet] | None = None, max_drop: float = DEFAULT_MAX_DROP,
                      allow_drop: bool = False, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Validation record of the artifact in ``folder`` (its manifest already written).

    A generator is run on ``images``; a denoiser on ``val_sets`` (default: the shipped samples at three noise
    levels), each folder's denoised-PSNR change judged against ``max_drop`` (``allow_drop``: kept, not failed).
    """
    from pngan.runtimes.torch_runner import TorchRunner

    runner, why = _open(folder)
    if runner is None:
        return why
    ref = TorchRunner(net)
    try:
        if generator:
            xs = [x for x, _ in images or []]
            return _judged(runner.precision, True, _output_scores([(runner.feed(ref)(x), runner(x)) for x in xs],
                                                                  xs), source, thresholds)
        return _validate_denoiser(runner, ref, val_sets or default_val_sets(), max_drop, allow_drop, thresholds)
    finally:
        runner.close()
        ref.close()


def _validate_denoiser(runner: Any, ref: Any, sets: list[ValSet], max_drop: float, allow_drop: bool,
                       thresholds: Thresholds | None) -> dict[str, Any]:
    """Per-folder denoised drops, the output rules on every validation input, and the budget."""
    outputs: list[tuple[np.ndarray, np.ndarray]] = []
    xs: list[np.ndarray] = []

    def both(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs.append((runner.feed(ref)(x), runner(x)))  # fixed-size engines: torch on the same tiles
        xs.append(x)
        return outputs[-1]

    drops = score_sets(sets, both)
    s = _output_scores(outputs, xs)
    w = worst(drops)
    s.delta_db, s.torch_gain_db, s.gain_db = w.delta_db, w.torch_db - w.noisy_db, w.artifact_db - w.noisy_db
    th = dataclasses.replace(thresholds or Thresholds(), int8_delta_db=math.inf)  # the budget below judges drops
    names = ", ".join(f"{d.name} ({d.images})" for d in drops)
    rec = _judged(runner.precision, False, s, f"validation pairs {names}", th)
    rec.update(folders=[d.to_json() for d in drops], max_drop_db=max_drop, worst_folder=w.name)
    if -w.delta_db > max_drop:
        rec["rule"] = f"denoised {w.delta_db:+.3f} dB on {w.name}, over the {max_drop:g} dB budget (--max-drop)"
        rec["status"] = "over budget (kept: --allow-drop)" if allow_drop and rec["status"] == "pass" else "fail"
    rec["failed_because"] = rec["rule"] if "budget" in rec["rule"] else f"{rec['rule']} not met"
    return rec


def _judged(precision: str, generator: bool, s: Scores, source: str, th: Thresholds | None) -> dict[str, Any]:
    ok, rule = judge(precision, generator, s, th or Thresholds())
    return {"status": "pass" if ok else "fail", "images": source, "rule": rule, "failed_because": f"{rule} not met",
            "output_psnr_min_db": _num(s.worst_db), "identity_margin_min_db": _num(s.margin_min_db),
            "identity_margin_mean_db": _num(s.margin_mean_db), "delta_psnr_db": s.delta_db,
            "gain_torch_db": s.torch_gain_db, "gain_db": s.gain_db}


def _why_not(message: str) -> str:
    if "macOS" in message:
        return "needs macOS"
    if "CUDA" in message or "GPU" in message:
        return "needs an NVIDIA GPU"
    return message


def _num(v: float) -> float | str:
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else float(v)


def fix_hint(target: str) -> str:
    """The flag that fixes an INT8 artifact of ``target`` that failed validation (its row's ``int8_fix``)."""
    from pngan.runtimes.formats import FORMATS

    return FORMATS[target].int8_fix if target in FORMATS else "--precision fp16"


def summary_line(name: str, size_bytes: int | None, seconds: float, rec: dict[str, Any] | None) -> str:
    """``onnx-int8: 0.3 MB, 4.1 s, vs torch 47.2 dB (+12.0 dB over identity), denoised samples:dslr -0.02, ...: ok``."""
    head = f"{name}: {_size(size_bytes)}, {seconds:.1f} s"
    if rec is None:
        return f"{head}, not validated (--no-validate)"
    if rec["status"] == "not validated":
        return f"{head}, not validated ({rec['reason']})"
    db, gain = rec["output_psnr_min_db"], rec["identity_margin_mean_db"]
    parts = [f"vs torch {_db(db)} dB ({_db(gain, True)} dB over identity)"]
    if rec.get("folders"):
        drops = ", ".join(f"{f['folder']} {f['delta_db']:+.2f}" for f in rec["folders"])
        parts.append(f"denoised {drops} dB (budget {rec['max_drop_db']:g} dB)")
        on = ""
    else:
        on = f" on {rec['images']}"
    verdict = {"fail": "FAIL", "pass": "ok"}.get(rec["status"], rec["status"].upper())
    return f"{head}, {', '.join(parts)}{on}: {verdict}"


def _db(v: float | str, signed: bool = False) -> str:
    if v == "inf":
        return "inf"
    if v == "-inf":
        return "-inf"
    return f"{v:+.1f}" if signed else f"{v:.1f}"


def _size(n: int | None) -> str:
    if n is None:
        return "size ?"
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
