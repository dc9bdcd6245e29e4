"""``pngan denoise``: the paper's ``test_denoiser.py`` for any registered denoiser."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli


@click.command()
@click.option("--method", required=True, help="Denoiser name: mirnet, ridnet, dncnn, ... (see `pngan models`).")
@click.option("--input_dir", "input_dir", type=click.Path(path_type=Path), required=True,
              help="Paired layout (input/ + groundtruth/) or a flat folder of noisy images.")
@click.option("--result_dir", "result_dir", type=click.Path(path_type=Path), required=True)
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Official .pth or project .safetensors. Default: the shipped weights of --method.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--tile", type=int, default=0, show_default=True, help="Tile size for large images (0: whole image).")
@click.option("--overlap", type=int, default=32, show_default=True, help="Tile overlap in pixels.")
@click.option("--skip-existing", is_flag=True,
              help="Keep results already in RESULT_DIR (e.g. from an interrupted run) and do only the rest.")
def denoise(method: str, input_dir: Path, result_dir: Path, weights: Path | None, device: str,
            tile: int, overlap: int, skip_existing: bool) -> None:
    """Denoise INPUT_DIR into RESULT_DIR; with clean references, name results <id>_<PSNR>dB_<SSIM>.png."""
    run_cli(lambda: run_denoise(method, input_dir, result_dir, weights, device, tile, overlap, skip_existing))


def _existing(result_dir: Path, ident: str, paired: bool) -> tuple[float, float] | None:
    """``(PSNR, SSIM)`` of a finished result for ``ident`` (read from its name; NaN unpaired), else ``None``."""
    import glob
    import re

    if not paired:
        return (float("nan"), float("nan")) if (result_dir / f"{ident}.png").is_file() else None
    pattern = re.compile(rf"{re.escape(ident)}_(-?[0-9.]+|inf)dB_([0-9.]+)\.png")
    for p in result_dir.glob(f"{glob.escape(ident)}_*dB_*.png"):
        m = pattern.fullmatch(p.name)
        if m:
            return float(m.group(1)), float(m.group(2))
    return None


def run_denoise(method: str, input_dir: Path, result_dir: Path, weights: Path | None = None,
                device: str = "cpu", tile: int = 0, overlap: int = 32,
                skip_existing: bool = False) -> dict[str, float]:
    """Run the denoiser over a folder; returns mean PSNR/SSIM (paired) and counts.

    Results are written atomically one by one, so an interrupted run leaves only
    complete files; ``skip_existing`` picks up from there. A write failure (full
    disk, read-only folder) stops the run, saying how many results were written.
    """
    import csv
    import io
    import time

    from pngan.progress import progress

    from pngan.cli.batch import raise_if_failed, refuse_overwriting_inputs, report_failure
    from pngan.data import LAYOUTS, find_pairs
    from pngan.errors import PnganError, WriteError
    from pngan.images import from_tensor_batch, list_images, read_image, to_tensor_batch, write_image
    from pngan.metrics import psnr, ssim
    from pngan.models import load_model
    from pngan.runtimes.tiling import tiled
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.atomic import make_dir, write_text

    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise PnganError("--device cuda: no CUDA device is available to this torch build")
    runner = TorchRunner(load_model(method, weights), device=device)
    paired = any((input_dir / n).is_dir() and (input_dir / c).is_dir() for n, c in LAYOUTS)
    if paired:
        items = [(p.id, p.noisy, p.clean) for p in find_pairs(input_dir)]
    else:  # noisy images only: a flat folder, or an input/ folder without references
        folder = input_dir / "input" if (input_dir / "input").is_dir() else input_dir
        items = [(f.stem, f, None) for f in list_images(folder)]
    inputs = [p for _, *paths in items for p in paths if p is not None]
    refuse_overwriting_inputs(result_dir, inputs, [f"{ident}.png" for ident, _, clean in items if clean is None])
    make_dir(result_dir)
    rows, failed, skipped, written = [], [], 0, 0
    t0 = time.perf_counter()
    for ident, noisy_path, clean_path in progress(items, desc=f"denoise {method}", unit="img", leave=False):
        done = _existing(result_dir, ident, clean_path is not None) if skip_existing else None
        if done is not None:
            skipped += 1
            if clean_path is not None:
                rows.append((ident, *done))
            continue
        try:
            noisy = read_image(noisy_path)
            clean = read_image(clean_path) if clean_path else None
            if clean is not None and clean.shape != noisy.shape:
                raise PnganError(f"{ident}: noisy {noisy.shape[1]}x{noisy.shape[0]} and clean "
                                 f"{clean.shape[1]}x{clean.shape[0]} differ in size")
            x = to_tensor_batch(noisy)
            y = from_tensor_batch(tiled(runner, x, tile, overlap) if tile else runner(x))
        except PnganError as e:
            report_failure(failed, noisy_path, e)
            continue
        try:
            if clean is None:
                write_image(result_dir / f"{ident}.png", y)
            else:
                p, s = psnr(y, clean), ssim(y, clean)
                write_image(result_dir / f"{ident}_{p:.2f}dB_{s:.4f}.png", y)
                rows.append((ident, p, s))
        except WriteError as e:
            raise WriteError(f"{e}; stopped after writing {written} of {len(items)} results "
                             f"(rerun with --skip-existing to finish)") from None
        written += 1
    elapsed = time.perf_counter() - t0
    out: dict[str, float] = {"images": written + skipped, "written": written, "skipped": skipped,
                             "failed": len(failed), "images_per_s": written / elapsed if elapsed else 0.0}
    if rows:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "psnr", "ssim"])
        w.writerows([(i, f"{p:.4f}", f"{s:.6f}") for i, p, s in rows])
        write_text(result_dir / "metrics.csv", buf.getvalue())
        out["psnr"] = sum(r[1] for r in rows) / len(rows)
        out["ssim"] = sum(r[2] for r in rows) / len(rows)
        click.echo(f"{method}: {len(rows)} images, mean PSNR {out['psnr']:.2f} dB, mean SSIM {out['ssim']:.4f}")
    else:
        click.echo(f"{method}: wrote {written} denoised images to {result_dir}"
                   + (f" ({skipped} already there)" if skipped else ""))
    raise_if_failed(failed, len(items))
    return out
