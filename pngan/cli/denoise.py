"""``pngan denoise``: the paper's ``test_denoiser.py`` for any registered denoiser or exported artifact.

Only click and the standard library are imported at the top (``pngan --help`` and argument
errors stay fast); the work is :func:`pngan.denoise.folder.denoise_folder`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pngan.runtimes.formats import FORMATS

if TYPE_CHECKING:
    from pngan.denoise.folder import DenoiseReport

METRICS = ("paper", "skimage")  # pngan.denoise.folder.METRICS (not imported: this module stays light)
BACKENDS = ", ".join(f.title for f in FORMATS.values())


@click.command()
@click.option("--model", "--method", "model", default=None, metavar="NAME",
              help="Denoiser name: mirnet, ridnet, dncnn, ... (see `pngan models`); runs in PyTorch. Default: the "
                   "shipped default denoiser (marked in `pngan models`), or the model a .safetensors --weights file "
                   "names.")
@click.option("--artifact", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=f"An export folder (with manifest.json) from pngan-export: runs through its backend "
                   f"({BACKENDS}) instead of --model.")
@click.option("--input-dir", "input_dir", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Paired layout (input/ + groundtruth/), a flat folder of noisy images, or one image file.")
@click.option("--out", "--result-dir", "out", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Output folder (not inside the input folder).")
@click.option("--weights", type=click.Path(path_type=Path), default=None, metavar="PATH|NAME",
              help="Official .pth, project .safetensors, or a shipped file's name. Default: the shipped weights "
                   "of --model.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Device of the PyTorch path (--model).")
@click.option("--tile", type=click.IntRange(min=0), default=0, show_default=True,
              help="Tile size (0: whole image; images too large for the free memory are tiled anyway).")
@click.option("--overlap", type=click.IntRange(min=0), default=None,
              help="Tile overlap in pixels. Default: from the model's measured receptive radius.")
@click.option("--metrics", type=click.Choice(METRICS), default="paper", show_default=True,
              help="paper: PSNR on the float output, SSIM on the Y channel (11x11 Gaussian window), as the "
                   "official test code; skimage: 8-bit PSNR and scikit-image's RGB SSIM.")
@click.option("--skip-existing", is_flag=True,
              help="Keep results already in --out (e.g. from an interrupted run) and do only the rest.")
def denoise(model: str | None, artifact: Path | None, input_dir: Path, out: Path, weights: Path | None,
            device: str, tile: int, overlap: int | None, metrics: str, skip_existing: bool) -> None:
    """Denoise --input-dir into --out; with clean references, name results <id>_<PSNR>dB_<SSIM>.png.

    With references, metrics.csv holds the denoised and the noisy input's PSNR/SSIM per image.
    """
    from pngan.cli.errors import run_cli

    def job() -> None:
        from pngan.denoise.folder import check_arguments

        check_arguments(input_dir, model, artifact, weights, device, metrics)  # before torch is imported
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep: faster on a busy CPU, same bits
        from pngan.cli.batch import raise_if_failed
        from pngan.denoise.folder import denoise_folder

        report = denoise_folder(input_dir, out, model=model, artifact=artifact, weights=weights, device=device,
                                tile=tile, overlap=overlap, metrics=metrics, skip_existing=skip_existing,
                                on_failure=lambda msg: click.echo(f"error: {msg} (skipped)", err=True))
        print_report(report)
        raise_if_failed(report.failed, report.total)

    run_cli(job)


def _ssim_text(v: float) -> str:
    return "n/a" if v != v else f"{v:.4f}"


def print_report(report: DenoiseReport) -> None:
    """The means of the denoised and the noisy images and the gain, or the count of images written."""
    if not report.rows:
        click.echo(f"{report.model}: wrote {report.written} denoised images to {report.out}"
                   + (f" ({report.skipped} already there)" if report.skipped else ""))
        return
    psnr, ssim = report.psnr, report.ssim
    noisy_psnr, noisy_ssim = report.mean("noisy_psnr"), report.mean("noisy_ssim")
    n, n_ssim = len(report.rows), sum(1 for r in report.rows if r.ssim == r.ssim)
    note = f" (SSIM over {n_ssim} of {n})" if n_ssim < n else ""
    gain_s = "n/a" if ssim != ssim else f"{ssim - noisy_ssim:+.4f}"
    click.echo(f"{report.model}: {n} images, mean PSNR {psnr:.2f} dB, mean SSIM {_ssim_text(ssim)}{note} "
               f"[{report.metrics} metrics]")
    click.echo(f"  noisy input: mean PSNR {noisy_psnr:.2f} dB, mean SSIM {_ssim_text(noisy_ssim)}; "
               f"gain {psnr - noisy_psnr:+.2f} dB, SSIM {gain_s}")
