"""The check every export ends with: run the artifact on a few images and compare it with torch.

Like Optimum's export validation: a few calibration crops (or the shipped samples) go
through the artifact and through the eager torch model; the output PSNR vs torch, its
margin over the identity baseline and, for a denoiser with clean targets, the change of
the denoised PSNR (the paper metric, as ``pngan denoise`` and ``pngan parity``) are judged by the
same rules as ``pngan parity`` (``pngan.runtimes.parity_rules``). The result is stored in the manifest
(``validation``) and printed as one line per artifact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn as nn

from pngan.calibration import CalibrationSource
from pngan.errors import BackendMissingError
from pngan.runtimes.base import PlatformError
from pngan.runtimes.parity_rules import Scores, Thresholds, judge, margin

VALIDATE_IMAGES = 4


def validation_images(generator: bool, calibration: CalibrationSource | None, sigma: float,
                      seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], str]:
    """``[(input 1x3xHxW, clean HxWx3 or None)]`` and where they come from.

    A few calibration crops (with their clean targets when known). A denoiser calibrated
    without clean targets also gets the shipped samples with synthetic noise, so the
    denoised-PSNR rules always have pairs.
    """
    from pngan.runtimes.parity_data import synthetic_pairs

    items: list[tuple[np.ndarray, np.ndarray | None]] = []
    names = []
    if calibration is not None:
        with_clean = calibration.has_targets and not generator
        items = [(x, _hwc(t) if with_clean else None) for x, t in calibration.pairs[:VALIDATE_IMAGES]]
        names.append(f"{len(items)} calibration crops")
    pairs = synthetic_pairs(seed)
    if generator and calibration is None:
        rng = np.random.default_rng(seed)
        items = [(_nchw(np.clip(c + sigma / 255.0 * rng.standard_normal(c.shape), 0, 1)), None)
                 for _, _, c in pairs.items]
        names.append(f"{len(items)} shipped samples + AWGN {sigma:g}/255")
    elif not generator and not any(c is not None for _, c in items):
        items += [(_nchw(n), c) for _, n, c in pairs.items]
        names.append(f"{len(pairs.items)} shipped samples + synthetic noise")
    return items, " and ".join(names)


def validate_artifact(folder: Path, net: nn.Module, *, generator: bool,
                      images: list[tuple[np.ndarray, np.ndarray | None]], source: str,
                      thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Validation record of the artifact in ``folder`` (its manifest already written)."""
    from pngan.io.images import from_tensor_batch
    from pngan.metrics import psnr_float, psnr_paper
    from pngan.runtimes.opening import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner

    th = thresholds or Thresholds()
    try:
        runner = open_artifact(folder)
    except (PlatformError, BackendMissingError) as e:
        return {"status": "not validated", "reason": _why_not(str(e))}
    ref = TorchRunner(net)
    try:
        dbs, margins, den = [], [], []
        for x, clean in images:
            y_ref, y = runner.feed(ref)(x), runner(x)  # fixed-size engines: torch on the same tiles
            db = psnr_float(y_ref, y)
            dbs.append(db)
            margins.append(margin(db, psnr_float(y_ref, x)))
            if clean is not None:
                den.append(tuple(psnr_paper(from_tensor_batch(v), clean) for v in (y_ref, y, x)))
    finally:
        runner.close()
        ref.close()
    precision = runner.precision
    s = Scores(min(dbs), min(margins), float(np.mean(margins)))
    if den:
        t, a, n = np.mean(np.asarray(den), axis=0)
        s.delta_db, s.torch_gain_db, s.gain_db = float(a - t), float(t - n), float(a - n)
    ok, rule = judge(precision, generator, s, th)
    return {"status": "pass" if ok else "fail", "images": source, "rule": rule,
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
    """``onnx-int8: 0.3 MB, 4.1 s, vs torch 47.2 dB (identity +12.0 dB), denoised -0.02 dB: pass``."""
    head = f"{name}: {_size(size_bytes)}, {seconds:.1f} s"
    if rec is None:
        return f"{head}, not validated (--no-validate)"
    if rec["status"] == "not validated":
        return f"{head}, not validated ({rec['reason']})"
    db, gain = rec["output_psnr_min_db"], rec["identity_margin_mean_db"]
    parts = [f"vs torch {_db(db)} dB ({_db(gain, True)} dB over identity)"]
    if rec.get("delta_psnr_db") is not None:
        kept = (f", {rec['gain_db'] / rec['gain_torch_db']:.0%} of torch's gain"
                if rec.get("gain_torch_db") and rec["gain_torch_db"] > 0 else "")
        parts.append(f"denoised {rec['delta_psnr_db']:+.3f} dB{kept}")
    verdict = "FAIL" if rec["status"] == "fail" else "ok"
    return f"{head}, {', '.join(parts)} on {rec['images']}: {verdict}"


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


def _hwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x[0].transpose(1, 2, 0))


def _nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
