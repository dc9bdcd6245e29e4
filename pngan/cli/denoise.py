"""``pngan denoise``: the paper's ``test_denoiser.py`` for any registered denoiser or exported artifact.

Only click and the standard library are imported at the top (``pngan --help`` and argument
errors stay fast); torch, numpy and the models are imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from pngan.export.formats import FORMATS

METRICS = ("paper", "skimage")
BACKENDS = ", ".join(f.title for f in FORMATS.values())


@click.command()
@click.option("--method", default=None, help="Denoiser name: mirnet, ridnet, dncnn, ... (see `pngan models`); "
              "runs in PyTorch. Default: the shipped default denoiser (marked in `pngan models`), or the "
              "model a .safetensors --weights file names.")
@click.option("--artifact", type=click.Path(path_type=Path), default=None,
              help=f"An export folder (with manifest.json) from pngan-export: runs through its backend "
                   f"({BACKENDS}) instead of --method.")
@click.option("--input_dir", "input_dir", type=click.Path(path_type=Path), required=True,
              help="Paired layout (input/ + groundtruth/), a flat folder of noisy images, or one image file.")
@click.option("--result_dir", "result_dir", type=click.Path(path_type=Path), required=True)
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Official .pth or project .safetensors. Default: the shipped weights of --method.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Device of the PyTorch path (--method).")
@click.option("--tile", type=click.IntRange(min=0), default=0, show_default=True,
              help="Tile size (0: whole image; images too large for the free memory are tiled anyway).")
@click.option("--overlap", type=click.IntRange(min=0), default=None,
              help="Tile overlap in pixels. Default: from the model's measured receptive radius.")
@click.option("--metrics", type=click.Choice(METRICS), default="paper", show_default=True,
              help="paper: PSNR on the float output, SSIM on the Y channel (11x11 Gaussian window), as the "
                   "official test code; skimage: 8-bit PSNR and scikit-image's RGB SSIM.")
@click.option("--skip-existing", is_flag=True,
              help="Keep results already in RESULT_DIR (e.g. from an interrupted run) and do only the rest.")
def denoise(method: str | None, artifact: Path | None, input_dir: Path, result_dir: Path, weights: Path | None,
            device: str, tile: int, overlap: int | None, metrics: str, skip_existing: bool) -> None:
    """Denoise INPUT_DIR into RESULT_DIR; with clean references, name results <id>_<PSNR>dB_<SSIM>.png.

    With references, metrics.csv holds the denoised and the noisy input's PSNR/SSIM per image.
    """
    from pngan.cli.errors import run_cli

    run_cli(lambda: run_denoise(method, input_dir, result_dir, weights, device, tile, overlap, skip_existing,
                                artifact=artifact, metrics=metrics))


def _check_arguments(method: str | None, artifact: Path | None, weights: Path | None, device: str,
                     input_dir: Path) -> None:
    from pngan.errors import PnganError

    if method is not None and artifact is not None:
        raise PnganError("give --method NAME (PyTorch) or --artifact FOLDER (an exported model), not both")
    if artifact is not None and weights is not None:
        raise PnganError("--weights applies to --method; an artifact holds its own weights")
    if artifact is not None and device != "cpu":
        raise PnganError("--device applies to --method; an artifact runs on its backend's device")
    if not input_dir.exists():
        raise PnganError(f"{input_dir}: no such folder or image file")


def _existing(result_dir: Path, ident: str, paired: bool) -> tuple[float, float] | None:
    """``(PSNR, SSIM)`` of a finished result for ``ident`` (read from its name; NaN unpaired), else ``None``."""
    import glob
    import re

    if not paired:
        return (float("nan"), float("nan")) if (result_dir / f"{ident}.png").is_file() else None
    pattern = re.compile(rf"{re.escape(ident)}_(-?[0-9.]+|inf)dB_([0-9.]+|nan)\.png")
    for p in result_dir.glob(f"{glob.escape(ident)}_*dB_*.png"):
        m = pattern.fullmatch(p.name)
        if m:
            return float(m.group(1)), float(m.group(2))
    return None


def _items(input_dir: Path) -> list[tuple[str, Path, Path | None]]:
    """``(id, noisy, clean or None)`` for a paired root, a flat folder, an input/ folder or one image file."""
    from pngan.data import LAYOUTS, find_pairs
    from pngan.errors import PnganError
    from pngan.images import IMAGE_SUFFIXES, list_images

    if input_dir.is_file():
        if input_dir.suffix.lower() not in IMAGE_SUFFIXES:
            raise PnganError(f"{input_dir}: neither a folder nor an image file ({', '.join(IMAGE_SUFFIXES)})")
        return [(input_dir.stem, input_dir, None)]
    if any((input_dir / n).is_dir() and (input_dir / c).is_dir() for n, c in LAYOUTS):
        return [(p.id, p.noisy, p.clean) for p in find_pairs(input_dir)]
    folder = input_dir / "input" if (input_dir / "input").is_dir() else input_dir
    return [(f.stem, f, None) for f in list_images(folder)]


class Denoiser:
    """The model behind ``pngan denoise``: a torch model or an artifact, with automatic tiling.

    An image is tiled when ``--tile`` asks for it, when the estimated memory of a whole-image
    run exceeds half the free memory (``pngan.runtimes.autotile.plan_tile``), or when a whole
    -image run fails for lack of memory; each automatic case says so in a ``warning:`` line.
    """

    def __init__(self, method: str | None, artifact: Path | None, weights: Path | None, device: str,
                 tile: int, overlap: int | None) -> None:
        from pngan.errors import PnganError
        from pngan.models import build, load_model, spec

        self.tile, self.overlap, self._radius = tile, overlap, None
        if artifact is not None:
            from pngan.runtimes.opening import open_artifact

            self.runner = open_artifact(artifact)
            m = self.runner.manifest
            if spec(m["model"]).kind != "denoiser":
                self.runner.close()
                raise PnganError(f"{artifact}: the artifact holds {m['model']!r}, a noise generator, not a "
                                 f"denoiser; use `pngan generate`")
            self.name = f"{m['model']} ({self.runner.backend} {m['precision']})"
            try:
                net = build(m["model"], **(m.get("config") or {}))
            except PnganError:
                net = None
            fmt = FORMATS.get(m["target"])
            self.device = "cuda" if (fmt and fmt.device == "gpu") or _on_gpu(self.runner.device) else "cpu"
            self.self_tiling = self.runner.tiles_itself
        else:
            if device == "cuda":
                import torch

                if not torch.cuda.is_available():
                    raise PnganError("--device cuda: no CUDA device is available to this torch build")
            if spec(method).kind != "denoiser":
                raise PnganError(f"{method!r} is a noise generator, not a denoiser; use `pngan generate`")
            from pngan.runtimes.torch_runner import TorchRunner

            net = load_model(method, weights)
            self.runner = TorchRunner(net, device=device)
            self.name, self.device, self.self_tiling = method, device, False
        from pngan.runtimes.autotile import bytes_per_pixel

        self.align = int(getattr(net, "pad_multiple", 1)) if net is not None else 1
        self.per_pixel = bytes_per_pixel(net) if net is not None else None

    def close(self) -> None:
        self.runner.close()

    def radius(self) -> int:
        """The receptive radius, probed on first use (only runs that tile need it)."""
        if self._radius is None:
            from pngan.runtimes.autotile import receptive_radius

            self._radius = receptive_radius(self.runner)
        return self._radius

    def _tiled(self, x, side: int):
        import warnings

        from pngan.errors import PnganWarning
        from pngan.runtimes.autotile import geometry_for
        from pngan.runtimes.tiling import tiled

        if self.overlap is None:
            geo = geometry_for(self.radius(), side)
        else:
            geo = geometry_for(self.radius(), side, self.overlap)
            geo["overlap"] = min(self.overlap, (side - 1) // 2)
            geo["short"] = max(0, self.radius() + 2 - geo["overlap"] // 2)
            geo["margin"] = min(self.radius() + 2, geo["overlap"] // 2)
        if geo.pop("short"):
            warnings.warn(f"{side}x{side} tiles with overlap {geo['overlap']} do not cover {self.name}'s receptive "
                          f"radius ({self.radius()} px): tiles may show seams; use a larger --tile/--overlap",
                          PnganWarning, stacklevel=2)
        return tiled(self.runner, x, side, batch=1, align=self.align, **geo)

    def __call__(self, x, label: str):
        """Denoise ``x`` (1 x 3 x H x W); ``PnganError`` naming ``label`` when memory runs out even tiled."""
        import warnings

        from pngan.errors import PnganError, PnganWarning
        from pngan.errors import first_line
        from pngan.runtimes.autotile import available_memory, plan_tile

        h, w = x.shape[2:]
        mh, mw = _pair(getattr(self.runner, "min_side", 1))
        if h < mh or w < mw:  # an artifact's shape range starts above this image: edge-pad, run, crop
            import numpy as np

            warnings.warn(f"{label}: {w}x{h} is below the artifact's minimum input {mw}x{mh}: edge-padded to run",
                          PnganWarning, stacklevel=2)
            padded = np.pad(x, ((0, 0), (0, 0), (0, max(0, mh - h)), (0, max(0, mw - w))), mode="edge")
            return self(padded, label)[:, :, :h, :w]
        side = self.tile or None
        if side is None and not self.self_tiling:
            free = available_memory(self.device)
            side = plan_tile(h, w, self.per_pixel, free, align=self.align)
            if side is not None:
                need = f"about {self.per_pixel * h * w / 2**30:.1f} GiB" if self.per_pixel else "a lot of memory"
                have = f"{free / 2**30:.1f} GiB free" if free else "the free memory is unknown"
                warnings.warn(f"{label}: {w}x{h} needs {need} as a whole image ({have}): denoising it in "
                              f"{side}x{side} tiles", PnganWarning, stacklevel=2)
        try:
            return self._tiled(x, side) if side else self.runner(x)
        except Exception as e:  # noqa: BLE001 - only running out of memory is handled here
            if not _is_oom(e):
                raise
            error = first_line(e, 120)
        smaller = min(512, max(64, (side or max(h, w)) // 2))
        if side is not None and side <= 64 or min(h, w) <= 64:
            raise PnganError(f"{label}: out of memory even in small tiles ({error})")
        warnings.warn(f"{label}: out of memory as a whole image ({error}); retrying in {smaller}x{smaller} tiles",
                      PnganWarning, stacklevel=2)
        try:
            return self._tiled(x, smaller)
        except Exception as e:  # noqa: BLE001
            if not _is_oom(e):
                raise
            raise PnganError(f"{label}: out of memory even in {smaller}x{smaller} tiles ({first_line(e, 120)})"
                             ) from None


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _on_gpu(device: str) -> bool:
    """Whether a runner's device string names a GPU (ONNX Runtime's CUDA provider); formats say it otherwise."""
    d = str(device).lower()
    return "cuda" in d or d.startswith("gpu")


def _is_oom(error: BaseException) -> bool:
    """Whether ``error`` says memory ran out (torch, ONNX Runtime and OpenVINO each say it their way)."""
    import re

    if isinstance(error, MemoryError):
        return True
    return bool(re.search(r"out of memory|can't allocate|cannot allocate|bad_alloc|failed to allocate|"
                          r"allocate memory|memory allocation", str(error), re.IGNORECASE))


def _metric_fns(metrics: str) -> tuple[Callable[..., float], Callable[..., float]]:
    from pngan.metrics import psnr, psnr_paper, ssim, ssim_paper

    return (psnr_paper, ssim_paper) if metrics == "paper" else (psnr, ssim)


def run_denoise(method: str | None, input_dir: Path, result_dir: Path, weights: Path | None = None,
                device: str = "cpu", tile: int = 0, overlap: int | None = None, skip_existing: bool = False,
                *, artifact: Path | None = None, metrics: str = "paper") -> dict[str, Any]:
    """Run the denoiser over a folder (or one image); returns mean PSNR/SSIM (paired) and counts.

    Results are written atomically one by one, so an interrupted run leaves only
    complete files; ``skip_existing`` picks up from there. A write failure (full
    disk, read-only folder) stops the run, saying how many results were written.
    A bad image, a size mismatch or running out of memory is reported for that image
    and the others are still done.
    """
    import time

    from pngan.errors import PnganError, WriteError

    _check_arguments(method, artifact, weights, device, input_dir)
    if method is None and artifact is None:  # the shipped default, or the model a weights file names
        from pngan.models.shipped import default_denoiser

        method = default_denoiser(weights)
    if metrics not in METRICS:
        raise PnganError(f"unknown --metrics {metrics!r}; choose one of: {', '.join(METRICS)}")
    from pngan.atomic import make_dir
    from pngan.cli.batch import raise_if_failed, refuse_overwriting_inputs, report_failure
    from pngan.images import from_tensor_batch, read_image, to_tensor_batch, write_image
    from pngan.progress import progress

    items = _items(input_dir)
    inputs = [p for _, *paths in items for p in paths if p is not None]
    refuse_overwriting_inputs(result_dir, inputs, [f"{ident}.png" for ident, _, clean in items if clean is None])
    model = Denoiser(method, artifact, weights, device, tile, overlap)
    psnr_fn, ssim_fn = _metric_fns(metrics)
    make_dir(result_dir)
    rows: list[tuple[str, float, float, float, float]] = []
    failed: list[str] = []
    skipped = written = 0
    t0 = time.perf_counter()
    try:
        for ident, noisy_path, clean_path in progress(items, desc=f"denoise {model.name}", unit="img", leave=False):
            done = _existing(result_dir, ident, clean_path is not None) if skip_existing else None
            if done is not None and clean_path is None:
                skipped += 1
                continue
            try:
                noisy = read_image(noisy_path)
                clean = read_image(clean_path) if clean_path else None
                if clean is not None and clean.shape != noisy.shape:
                    raise PnganError(f"{ident}: noisy {noisy.shape[1]}x{noisy.shape[0]} and clean "
                                     f"{clean.shape[1]}x{clean.shape[0]} differ in size")
                if done is None:
                    y = from_tensor_batch(model(to_tensor_batch(noisy), noisy_path.name))
            except PnganError as e:
                report_failure(failed, noisy_path, e)
                continue
            if clean is not None:
                noisy_m = (psnr_fn(noisy, clean), ssim_fn(noisy, clean))
                p, s = done if done is not None else (psnr_fn(y, clean), ssim_fn(y, clean))
                rows.append((ident, p, s, *noisy_m))
                if s != s:  # NaN: the image is smaller than the SSIM window
                    click.echo(f"warning: {ident}: {noisy.shape[1]}x{noisy.shape[0]} is smaller than the SSIM "
                               f"window; SSIM n/a", err=True)
            if done is not None:
                skipped += 1
                continue
            try:
                write_image(result_dir / (f"{ident}.png" if clean is None else f"{ident}_{p:.2f}dB_{s:.4f}.png"), y)
            except WriteError as e:
                raise WriteError(f"{e}; stopped after writing {written} of {len(items)} results "
                                 f"(rerun with --skip-existing to finish)") from None
            written += 1
    finally:
        model.close()
    elapsed = time.perf_counter() - t0
    out: dict[str, Any] = {"images": written + skipped, "written": written, "skipped": skipped,
                           "failed": len(failed), "images_per_s": written / elapsed if elapsed else 0.0,
                           "metrics": metrics}
    if rows:
        out.update(_summarize(rows, result_dir, model.name, metrics))
    else:
        click.echo(f"{model.name}: wrote {written} denoised images to {result_dir}"
                   + (f" ({skipped} already there)" if skipped else ""))
    raise_if_failed(failed, len(items))
    return out


def _mean(values: list[float]) -> float:
    ok = [v for v in values if v == v]
    return sum(ok) / len(ok) if ok else float("nan")


def _summarize(rows: list[tuple[str, float, float, float, float]], result_dir: Path, name: str,
               metrics: str) -> dict[str, float]:
    """Write metrics.csv and print the means of the denoised and the noisy images and the gain."""
    import csv
    import io

    from pngan.atomic import write_text

    def cell(v: float, digits: int) -> str:
        return "" if v != v else f"{v:.{digits}f}"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "psnr", "ssim", "noisy_psnr", "noisy_ssim", "metrics"])
    w.writerows([(i, cell(p, 4), cell(s, 6), cell(np_, 4), cell(ns, 6), metrics) for i, p, s, np_, ns in rows])
    write_text(result_dir / "metrics.csv", buf.getvalue())
    m = {"psnr": _mean([r[1] for r in rows]), "ssim": _mean([r[2] for r in rows]),
         "noisy_psnr": _mean([r[3] for r in rows]), "noisy_ssim": _mean([r[4] for r in rows])}

    def ssim_text(v: float) -> str:
        return "n/a" if v != v else f"{v:.4f}"

    n_ssim = sum(1 for r in rows if r[2] == r[2])
    note = f" (SSIM over {n_ssim} of {len(rows)})" if n_ssim < len(rows) else ""
    gain_s = "n/a" if m["ssim"] != m["ssim"] else f"{m['ssim'] - m['noisy_ssim']:+.4f}"
    click.echo(f"{name}: {len(rows)} images, mean PSNR {m['psnr']:.2f} dB, mean SSIM {ssim_text(m['ssim'])}{note} "
               f"[{metrics} metrics]")
    click.echo(f"  noisy input: mean PSNR {m['noisy_psnr']:.2f} dB, mean SSIM {ssim_text(m['noisy_ssim'])}; "
               f"gain {m['psnr'] - m['noisy_psnr']:+.2f} dB, SSIM {gain_s}")
    return m
