"""Denoising a folder (or one image) as the paper's ``test_denoiser.py``: results, PSNR/SSIM, metrics.csv.

With clean references (a paired layout) each result is named ``<id>_<PSNR>dB_<SSIM>.png`` and
``metrics.csv`` holds the denoised and the noisy input's PSNR/SSIM per image; without them the
result keeps the input's stem without its noisy role token (``x_NOISY.png`` -> ``x.png``). Heavy modules
(torch, numpy) are imported when a run starts, so argument errors stay fast.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pngan.errors import PnganError, PnganWarning, WriteError

METRICS = ("paper", "skimage")


@dataclass(frozen=True)
class ImageScore:
    """PSNR/SSIM of one denoised image and of its noisy input against the clean reference (NaN: n/a)."""

    id: str
    psnr: float
    ssim: float
    noisy_psnr: float
    noisy_ssim: float


def _mean(values: list[float]) -> float:
    ok = [v for v in values if not math.isnan(v)]
    return sum(ok) / len(ok) if ok else float("nan")


@dataclass
class DenoiseReport:
    """What a folder denoise did: per-image scores (paired inputs only) and their means, and counts."""

    model: str
    metrics: str
    out: Path
    total: int
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    rows: list[ImageScore] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def mean(self, key: str) -> float:
        """Mean of ``psnr``, ``ssim``, ``noisy_psnr`` or ``noisy_ssim`` over the images that have it."""
        return _mean([getattr(r, key) for r in self.rows])

    @property
    def psnr(self) -> float:
        return self.mean("psnr")

    @property
    def ssim(self) -> float:
        return self.mean("ssim")

    @property
    def images_per_s(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


def check_arguments(input_dir: str | os.PathLike, model: str | None = None, artifact: str | os.PathLike | None = None,
                    weights: str | os.PathLike | None = None, device: str = "cpu", metrics: str = "paper") -> None:
    """The checks that need no model (standard library only): ``PnganError`` naming the option at fault."""
    if model is not None and artifact is not None:
        raise PnganError("give --model NAME (PyTorch) or --artifact FOLDER (an exported model), not both")
    if artifact is not None and weights is not None:
        raise PnganError("--weights applies to --model; an artifact holds its own weights")
    if artifact is not None and device != "cpu":
        raise PnganError("--device applies to --model; an artifact runs on its backend's device")
    if metrics not in METRICS:
        raise PnganError(f"unknown --metrics {metrics!r}; choose one of: {', '.join(METRICS)}")
    if not Path(input_dir).exists():
        raise PnganError(f"{input_dir}: no such folder or image file")


def find_inputs(input_dir: Path) -> list[tuple[str, Path, Path | None]]:
    """``(id, noisy, clean or None)`` for a paired root, a flat folder, an input/ folder or one image file."""
    from pngan.data import LAYOUTS, find_pairs
    from pngan.data.pairs import NOISY_TOKENS, result_stems
    from pngan.io.images import IMAGE_SUFFIXES, list_images

    if input_dir.is_file():
        if input_dir.suffix.lower() not in IMAGE_SUFFIXES:
            raise PnganError(f"{input_dir}: neither a folder nor an image file ({', '.join(IMAGE_SUFFIXES)})")
        return [(result_stems([input_dir], NOISY_TOKENS, "noisy")[0], input_dir, None)]
    if any((input_dir / n).is_dir() and (input_dir / c).is_dir() for n, c in LAYOUTS):
        return [(p.id, p.noisy, p.clean) for p in find_pairs(input_dir)]
    folder = input_dir / "input" if (input_dir / "input").is_dir() else input_dir
    files = list_images(folder)
    return [(stem, f, None) for stem, f in zip(result_stems(files, NOISY_TOKENS, "noisy"), files)]


def _existing(out: Path, ident: str, paired: bool) -> tuple[float, float] | None:
    """``(PSNR, SSIM)`` of a finished result for ``ident`` (read from its name; NaN unpaired), else ``None``."""
    import glob
    import re

    if not paired:
        return (float("nan"), float("nan")) if (out / f"{ident}.png").is_file() else None
    pattern = re.compile(rf"{re.escape(ident)}_(-?[0-9.]+|inf)dB_([0-9.]+|nan)\.png")
    for p in out.glob(f"{glob.escape(ident)}_*dB_*.png"):
        m = pattern.fullmatch(p.name)
        if m:
            return float(m.group(1)), float(m.group(2))
    return None


def _failure_text(path: Path, error: Exception) -> str:
    text = str(error)
    return text if path.name in text or text.startswith(f"{path.stem}:") else f"{path.name}: {text}"


def denoise_folder(input_dir: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None,
                   artifact: str | os.PathLike | None = None, weights: str | os.PathLike | None = None,
                   device: str = "cpu", tile: int = 0, overlap: int | None = None, metrics: str = "paper",
                   skip_existing: bool = False,
                   on_failure: Callable[[str], None] | None = None) -> DenoiseReport:
    """Denoise ``input_dir`` (paired root, flat folder or one image) into ``out``; returns the report.

    ``model`` (a registered denoiser, run in PyTorch with ``weights``) or ``artifact`` (an export
    folder); neither: the shipped default, or the model a ``.safetensors`` ``weights`` file names.
    Results are written atomically one by one, so an interrupted run leaves only complete files;
    ``skip_existing`` picks up from there. A write failure (full disk, read-only folder) stops the
    run, saying how many results were written. A bad image, a size mismatch or running out of memory
    is passed to ``on_failure`` (and listed in ``report.failed``) and the other images are still done.
    """
    input_dir, out = Path(input_dir), Path(out)
    check_arguments(input_dir, model, artifact, weights, device, metrics)
    if model is None and artifact is None:
        from pngan.models.shipped import default_denoiser

        model = default_denoiser(weights)
    from pngan.denoise.runner import DenoiseRunner
    from pngan.io.atomic import make_dir
    from pngan.progress import progress

    items = _checked_inputs(input_dir, out)
    runner = DenoiseRunner(model, artifact, weights, device, tile, overlap)
    make_dir(out)
    report = DenoiseReport(runner.name, metrics, out, len(items))
    scores = _score_functions(metrics)
    t0 = time.perf_counter()
    try:
        for item in progress(items, desc=f"denoise {runner.name}", unit="img", leave=False):
            _denoise_one(item, runner, report, scores, skip_existing, on_failure)
    finally:
        runner.close()
    report.seconds = time.perf_counter() - t0
    if report.rows:
        write_metrics_csv(report)
    return report


def _checked_inputs(input_dir: Path, out: Path) -> list[tuple[str, Path, Path | None]]:
    """The inputs, once ``out`` is known to overwrite none of them and to lie outside ``input_dir``."""
    from pngan.io.output_dir import refuse_overlap, refuse_overwriting_inputs

    items = find_inputs(input_dir)
    inputs = [p for _, *paths in items for p in paths if p is not None]
    refuse_overwriting_inputs(out, inputs, [f"{ident}.png" for ident, _, clean in items if clean is None])
    refuse_overlap(input_dir, out)  # results inside the input would be read as inputs next time
    return items


def _score_functions(metrics: str) -> tuple[Callable, Callable]:
    """``(psnr, ssim)`` as the paper's code (``"paper"``) or on float images."""
    from pngan.metrics import psnr, psnr_paper, ssim, ssim_paper

    return (psnr_paper, ssim_paper) if metrics == "paper" else (psnr, ssim)


def _denoise_one(item: tuple[str, Path, Path | None], runner, report: DenoiseReport, scores: tuple[Callable, Callable],
                 skip_existing: bool, on_failure: Callable[[str], None] | None) -> None:
    """One input: denoised, scored against its clean reference (if any) and written; a bad image is a failure."""
    from pngan.io.images import from_tensor_batch, read_image, to_tensor_batch, write_image

    ident, noisy_path, clean_path = item
    out = report.out
    done = _existing(out, ident, clean_path is not None) if skip_existing else None
    if done is not None and clean_path is None:
        report.skipped += 1
        return
    try:
        noisy = read_image(noisy_path)
        clean = read_image(clean_path) if clean_path else None
        if clean is not None and clean.shape != noisy.shape:
            raise PnganError(f"{ident}: noisy {noisy.shape[1]}x{noisy.shape[0]} and clean "
                             f"{clean.shape[1]}x{clean.shape[0]} differ in size")
        if done is None:
            y = from_tensor_batch(runner(to_tensor_batch(noisy), noisy_path.name))
    except PnganError as e:
        report.failed.append(_failure_text(noisy_path, e))
        if on_failure is not None:
            on_failure(report.failed[-1])
        return
    if clean is not None:
        p, s = done if done is not None else (scores[0](y, clean), scores[1](y, clean))
        report.rows.append(ImageScore(ident, p, s, scores[0](noisy, clean), scores[1](noisy, clean)))
        if s != s:  # NaN: the image is smaller than the SSIM window
            warnings.warn(f"{ident}: {noisy.shape[1]}x{noisy.shape[0]} is smaller than the SSIM window; "
                          f"SSIM n/a", PnganWarning, stacklevel=3)
    if done is not None:
        report.skipped += 1
        return
    try:
        write_image(out / (f"{ident}.png" if clean is None else f"{ident}_{p:.2f}dB_{s:.4f}.png"), y)
    except WriteError as e:
        raise WriteError(f"{e}; stopped after writing {report.written} of {report.total} results "
                         f"(rerun with --skip-existing to finish)") from None
    report.written += 1


def write_metrics_csv(report: DenoiseReport) -> Path:
    """``report.out``/metrics.csv (atomic, Unix line endings): one row per scored image; returns its path."""
    import csv
    import io

    from pngan.io.atomic import write_text

    def cell(v: float, digits: int) -> str:
        return "" if v != v else f"{v:.{digits}f}"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "psnr", "ssim", "noisy_psnr", "noisy_ssim", "metrics"])
    w.writerows([(r.id, cell(r.psnr, 4), cell(r.ssim, 6), cell(r.noisy_psnr, 4), cell(r.noisy_ssim, 6),
                  report.metrics) for r in report.rows])
    path = report.out / "metrics.csv"
    write_text(path, buf.getvalue())
    return path
