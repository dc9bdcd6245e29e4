"""Parity of exported artifacts against the eager torch model they came from (``pngan parity``).

For every artifact folder under a root (or one bare ``.onnx``/``.xml`` file): output PSNR
and max abs error vs torch on random and real inputs at two sizes, its margin over the
identity baseline, denoised PSNR/SSIM on noisy/clean pairs and its change from torch
(denoisers only), latency p50/p90, and pass/fail against ``pngan.export.validate_rules``.
A broken artifact is reported (``error``) and the run goes on; an artifact whose
backend cannot run here (not installed, Core ML off macOS, TensorRT without a GPU) is
``skipped``.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pngan.errors import BackendMissingError, PnganError, PnganWarning
from pngan.export import formats
from pngan.export.validate_rules import Scores, Thresholds, judge, margin
from pngan.runtimes.base import PlatformError

MODEL_FILES = formats.model_files()


@dataclass
class PairSet:
    """Noisy/clean float images (H, W, 3) and where they came from."""

    items: list[tuple[str, np.ndarray, np.ndarray]]
    source: str


def find_artifacts(root: str | os.PathLike, depth: int = 3) -> list[Path]:
    """Artifact folders under ``root``: folders with a manifest, or with model files but no manifest
    (reported as broken). ``root`` itself counts when it is one. Hidden folders are skipped."""
    root = Path(root)
    if root.is_file():  # a bare model file (.onnx/.xml), checked by check_artifact
        if root.suffix.lower() not in formats.bare_suffixes() and not (root.parent / "manifest.json").is_file():
            raise PnganError(f"{root}: not a model file ({' or '.join(formats.bare_suffixes())}) nor a folder "
                             f"of artifacts")
        return [root]
    if not root.is_dir():
        raise PnganError(f"{root}: no such folder or model file")

    def is_artifact(d: Path) -> bool:
        return (d / "manifest.json").exists() or any((d / f).exists() for f in MODEL_FILES)

    if is_artifact(root):
        return [root]
    found: list[Path] = []

    def walk(d: Path, level: int) -> None:
        for sub in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if is_artifact(sub):
                found.append(sub)
            elif level < depth:
                walk(sub, level + 1)

    walk(root, 1)
    if not found:
        raise PnganError(f"{root}: no artifact folders (folders with manifest.json) found; export with pngan-export")
    return found


def synthetic_pairs(seed: int = 0) -> PairSet:
    """The shipped clean samples with seeded Poisson-Gaussian noise (not real camera noise)."""
    from pngan.samples import SAMPLE_READ, SAMPLE_SHOT, SAMPLES, noisy_sample, sample_image

    rng = np.random.default_rng(seed)
    items = []
    for name in SAMPLES:
        clean = sample_image(name)
        items.append((name, noisy_sample(clean, rng), clean))
    return PairSet(items, f"shipped samples ({', '.join(SAMPLES)}) with synthetic Poisson-Gaussian noise "
                          f"(shot {SAMPLE_SHOT:g}, read {SAMPLE_READ:g}, seed {seed}); not real camera noise")


def folder_pairs(root: str | os.PathLike, limit: int | None = None) -> PairSet:
    """Real noisy/clean pairs from a paired folder (``find_pairs`` layouts)."""
    from pngan.data import find_pairs
    from pngan.data.pairs import check_pair_sizes
    from pngan.images import read_image

    pairs = find_pairs(root)[:limit] if limit else find_pairs(root)
    items = []
    for p in pairs:
        noisy, clean = read_image(p.noisy), read_image(p.clean)
        check_pair_sizes(noisy, clean, p)
        items.append((p.id, noisy, clean))
    if not items:
        raise PnganError(f"{root}: no image pairs")
    return PairSet(items, f"{len(items)} pairs from {root}")


def _fmt(v: float) -> float | str:
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def generator_input(clean: np.ndarray, ref: Any, seed: int) -> np.ndarray:
    """A generator's real input: ``clean`` + AWGN at its ``input_sigma``, clipped to [0, 1]."""
    from pngan.generate import input_sigma

    model = getattr(ref, "model", None)  # TorchRunner -> InferenceModel -> the registered net
    sigma = input_sigma(getattr(model, "net", model))
    noise = np.random.default_rng(seed).standard_normal(clean.shape)
    return np.clip(clean + sigma / 255.0 * noise, 0, 1).astype(np.float32)


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _label(size: int | tuple[int, int]) -> str:
    h, w = _hw(size)
    return f"{h}x{w}"


def _crop(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """``H x W`` crop (``size``: one int or ``(H, W)``) of an (H, W, 3) image, reflect-tiled when smaller."""
    (ch, cw), (h, w) = _hw(size), img.shape[:2]
    if h < ch or w < cw:
        img = np.pad(img, ((0, max(0, ch - h)), (0, max(0, cw - w)), (0, 0)), mode="symmetric")
    return np.ascontiguousarray(img[:ch, :cw])


class References:
    """Torch references, one per (model, weights), built once."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self.cache: dict[tuple[str, str], Any] = {}

    def get(self, manifest: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        from pngan.models import sha256, shipped_weights
        from pngan.runtimes.opening import torch_runner

        name = manifest["model"]
        notes: list[str] = []
        w = manifest.get("weights")
        if w and Path(w).is_file():
            path = Path(w)
        else:
            path = shipped_weights(name)
            if path is None:
                raise PnganError(f"cannot build the torch reference: weights {w!r} not found and no shipped "
                                 f"weights for {name!r}")
            if w:
                notes.append(f"weights {w} not found; torch reference uses the shipped weights {path.name}")
        want = manifest.get("weights_sha256")
        if want:
            got = sha256(path)
            if got != want:
                notes.append(f"torch reference weights {path.name} (sha256 {got[:12]}) differ from the "
                             f"exported weights (sha256 {want[:12]}); expect a parity failure")
        elif not w:
            notes.append("manifest records no weights; torch reference uses the shipped weights")
        key = (name, str(path))
        if key not in self.cache:
            self.cache[key] = torch_runner(name, path, threads=self.threads)
        return self.cache[key], {"weights": str(path), "notes": notes}


def check_artifact(folder: Path, pairs: PairSet, refs: References, th: Thresholds, *,
                   sizes: tuple[int | tuple[int, int], ...] = (128, 256), latency_sizes: tuple[int, ...] = (256, 512),
                   repeats: int = 5, seed: int = 0, options: dict[str, Any] | None = None,
                   torch_latency: dict | None = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One artifact's parity entry (never raises ``PnganError``: it becomes ``status: error``)."""
    from pngan.images import from_tensor_batch, to_tensor_batch
    from pngan.metrics import psnr, psnr_float, ssim
    from pngan.models import spec
    from pngan.runtimes.opening import open_artifact
    from pngan.timing import measure_latency

    from pngan.export.validate import artifact_size
    from pngan.runtimes.opening import artifact_manifest

    say = progress or (lambda _m: None)
    name = f"{folder.parent.name}/{folder.name}" if folder.is_file() else folder.name
    entry: dict[str, Any] = {"artifact": str(folder), "name": name, "status": "error"}
    runner = None
    try:
        base, manifest = artifact_manifest(folder, verify=False)  # open_artifact below checks the model file
        entry.update(model=manifest["model"], target=manifest["target"], precision=manifest["precision"])
        if manifest.get("bare"):
            entry["bare_model_file"] = True
        art = base / manifest["artifact"]
        side = formats.FORMATS[manifest["target"]].sidecars if manifest["target"] in formats.FORMATS else ()
        entry["size_bytes"] = (art.stat().st_size + sum(art.with_suffix(x).stat().st_size for x in side
                                                        if art.with_suffix(x).is_file())
                               if folder.is_file() else artifact_size(base))
        runner = open_artifact(folder, ignore_unknown=True, **(options or {}))
        entry.update(backend=runner.backend, device=runner.device,
                     static_shape=list(runner.static_shape) if runner.static_shape else None)
        ref, ref_info = refs.get(manifest)
        entry["reference"] = ref_info
        for note in ref_info["notes"]:
            warnings.warn(f"{folder.name}: {note}", PnganWarning, stacklevel=2)
        generator = spec(manifest["model"]).kind == "generator"
        entry["kind"] = "generator" if generator else "denoiser"

        ref_run = runner.feed(ref)  # a fixed-size engine sees tiles: torch gets the same tiles, not the tiling error

        say(f"  {name}: output parity at {', '.join(_label(v) for v in sizes)}")
        rng = np.random.default_rng(seed)
        outputs = []
        worst, worst_abs = math.inf, 0.0
        margins: list[float] = []  # every input
        real_margins: list[float] = []
        for size in sizes:
            real_src = generator_input(pairs.items[0][2], ref, seed) if generator else pairs.items[0][1]
            for kind, x in (("random", rng.random((1, 3, *_hw(size)), dtype=np.float32)),
                            ("real", to_tensor_batch(_crop(real_src, size)))):
                y_ref, y = ref_run(x), runner(x)
                db, mx = psnr_float(y_ref, y), float(np.abs(y_ref - y).max())
                base = psnr_float(y_ref, x)
                outputs.append({"input": kind, "size": size if isinstance(size, int) else list(size),
                                "psnr_db": _fmt(db), "max_abs": mx,
                                "identity_db": _fmt(base)})
                if kind == "real" or manifest["precision"] != "int8":  # INT8 ranges are calibrated on real data
                    worst = min(worst, db)
                worst_abs = max(worst_abs, mx)
                margins.append(margin(db, base))
                if kind == "real":
                    real_margins.append(margin(db, base))
        entry["outputs"] = outputs
        entry["output_psnr_min_db"], entry["max_abs"] = _fmt(worst), worst_abs

        delta = None
        if not generator:
            rows = []
            say(f"  {name}: denoising {len(pairs.items)} pairs")
            mh, mw = (runner.min_side, runner.min_side) if isinstance(runner.min_side, int) else runner.min_side
            too_small = [(i, n.shape) for i, n, _ in pairs.items if n.shape[0] < mh or n.shape[1] < mw]
            for ident, (h, w, _) in too_small:
                warnings.warn(f"{name}: pair {ident} ({w}x{h}) is smaller than the artifact's minimum input "
                              f"{mw}x{mh}; not scored", PnganWarning, stacklevel=2)
            if len(too_small) == len(pairs.items):
                raise PnganError(f"every pair is smaller than the artifact's minimum input {mw}x{mh} "
                                 f"(first: {too_small[0][0]})")
            skipped = {i for i, _ in too_small}
            for ident, noisy, clean in pairs.items:
                if ident in skipped:
                    continue
                x = to_tensor_batch(noisy)
                y_ref, y = ref_run(x), runner(x)
                real_margins.append(margin(psnr_float(y_ref, y), psnr_float(y_ref, x)))
                yt, ya = from_tensor_batch(y_ref), from_tensor_batch(y)
                rows.append((psnr(yt, clean), ssim(yt, clean), psnr(ya, clean), ssim(ya, clean), psnr(noisy, clean)))
            m = np.mean(np.asarray(rows), axis=0)
            delta = float(m[2] - m[0])
            entry["denoised"] = {"pairs": len(rows), "psnr_torch": float(m[0]), "ssim_torch": float(m[1]),
                                 "psnr": float(m[2]), "ssim": float(m[3]), "delta_psnr": delta,
                                 "delta_ssim": float(m[3] - m[1]), "psnr_noisy": float(m[4]),
                                 "gain_torch": float(m[0] - m[4]), "gain": float(m[2] - m[4]),
                                 "skipped_pairs": sorted(skipped)}
        else:
            entry["denoised"] = None

        lat = {}
        say(f"  {name}: latency at {', '.join(f'{v}x{v}' for v in latency_sizes)} ({repeats} runs)")
        for size in latency_sizes:
            x = rng.random((1, 3, size, size), dtype=np.float32)
            r = measure_latency(lambda: runner(x), repeats=repeats, warmup=1)
            if torch_latency is not None:
                key = f"{manifest['model']}:{ref_info['weights']}:{size}"
                if key not in torch_latency:
                    torch_latency[key] = {**measure_latency(lambda: ref(x), repeats=repeats, warmup=1),
                                          "model": manifest["model"], "weights": ref_info["weights"], "size": size}
                r["torch_p50_ms"] = torch_latency[key]["p50_ms"]
                r["speedup_vs_torch"] = r["torch_p50_ms"] / r["p50_ms"] if r["p50_ms"] else None
            lat[str(size)] = r
        entry["latency"] = lat

        den = entry["denoised"] or {}
        scores = Scores(worst, min(margins), float(np.mean(real_margins)), delta, den.get("gain_torch"),
                        den.get("gain"))
        entry["identity_margin_min_db"] = _fmt(scores.margin_min_db)
        entry["identity_margin_mean_db"] = _fmt(scores.margin_mean_db)
        ok, rule = judge(manifest["precision"], generator, scores, th)
        entry["rule"] = rule
        entry["status"] = "pass" if ok else "fail"
    except (BackendMissingError, PlatformError) as e:
        entry.update(status="skipped", message=str(e))
    except PnganError as e:
        entry.update(status="error", message=str(e))
    finally:
        if runner is not None:
            runner.close()
    return entry


def run_parity(root: str | os.PathLike, *, data: str | os.PathLike | None = None, thresholds: Thresholds | None = None,
               sizes: tuple[int | tuple[int, int], ...] = (128, 256), latency_sizes: tuple[int, ...] = (256, 512),
               repeats: int = 5,
               threads: int | None = None, seed: int = 0, limit: int | None = None,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The parity report for every artifact under ``root`` (see the module docstring)."""
    th = thresholds or Thresholds()
    folders = find_artifacts(root)
    pairs = folder_pairs(data, limit) if data is not None else synthetic_pairs(seed)
    refs = References(threads)
    torch_lat: dict[str, Any] = {}
    entries = []
    t0 = time.perf_counter()
    for i, f in enumerate(folders, 1):
        if progress:
            progress(f"[{i}/{len(folders)}] checking {f}")
        entries.append(check_artifact(f, pairs, refs, th, sizes=sizes, latency_sizes=latency_sizes,
                                      repeats=repeats, seed=seed, options={"threads": threads},
                                      torch_latency=torch_lat, progress=progress))
        if progress:
            e = entries[-1]
            progress(f"[{i}/{len(folders)}] {e['name']}: {e['status']}")
    counts = {s: sum(e["status"] == s for e in entries) for s in ("pass", "fail", "error", "skipped")}
    return {"root": str(root), "data": pairs.source, "thresholds": asdict(th), "sizes": list(sizes),
            "latency_sizes": list(latency_sizes), "repeats": repeats, "threads": threads, "seed": seed,
            "artifacts": entries, "torch": _torch_rows(entries, torch_lat), "summary": counts,
            "ok": counts["fail"] == 0 and counts["error"] == 0,
            "seconds": time.perf_counter() - t0}


def _torch_rows(entries: list[dict[str, Any]], lat: dict[str, Any]) -> list[dict[str, Any]]:
    """The torch reference per (model, weights): its denoised PSNR and latency p50/p90 per size."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for v in lat.values():
        row = rows.setdefault((v["model"], v["weights"]), {"model": v["model"], "weights": v["weights"],
                                                           "latency": {}, "denoised_psnr": None})
        row["latency"][str(v["size"])] = {"p50_ms": v["p50_ms"], "p90_ms": v["p90_ms"]}
    for e in entries:
        ref = (e.get("reference") or {}).get("weights")
        if e.get("denoised") and (e.get("model"), ref) in rows:
            rows[(e["model"], ref)]["denoised_psnr"] = e["denoised"]["psnr_torch"]
            rows[(e["model"], ref)]["denoised_ssim"] = e["denoised"]["ssim_torch"]
    return list(rows.values())


from pngan.runtimes.parity_report import draw_chart, to_markdown, to_table  # noqa: E402,F401 - the reports
