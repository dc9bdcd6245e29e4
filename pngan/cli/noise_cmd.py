"""``pngan noise``: the hand-made noise baselines written as image folders (the official X30/X50/X70 script)."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli

FOLDERS = {"poisson-gaussian": "PoissonGaussian_noise", "camera": "Camera_noise"}


NOISES = ("gaussian", "poisson-gaussian", "camera")


@click.command()
@click.option("--noise", "noise_model", type=click.Choice(NOISES), default=None, metavar="NAME",
              help=f"Noise model: {', '.join(NOISES)}.  [default: gaussian]")
@click.option("--model", "old_model", type=click.Choice(NOISES), default=None, hidden=True)  # --noise's old name
@click.option("--sigma", type=float, multiple=True,
              help="AWGN sigma(s) on the 0-255 scale, e.g. --sigma 30 50 70 (gaussian only).")
@click.option("--input-dir", "input_dir", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Clean images: a folder or one image file.")
@click.option("--out", "--result-dir", "out", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Output folder (not inside the input folder).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.argument("more_sigmas", nargs=-1, type=float, metavar="")
def noise(noise_model: str | None, old_model: str | None, sigma: tuple[float, ...], input_dir: Path, out: Path,
          seed: int, more_sigmas: tuple[float, ...]) -> None:
    """Write noisy copies of --input-dir: OUT/Gaussian_noise_X<sigma>/<name>.png, one folder per sigma.

    Each image's noise comes from (seed, file name), so results do not depend on
    the order or number of files. Output is 8-bit PNG (lossless) with the source's stem.
    """

    def job() -> None:
        from pngan.errors import PnganError

        if noise_model and old_model and noise_model != old_model:
            raise PnganError(f"--noise {noise_model} and --model {old_model} (its old name) disagree; give --noise")
        run_noise(noise_model or old_model or "gaussian", list(sigma) + list(more_sigmas), input_dir, out, seed)

    run_cli(job)


def run_noise(model: str, sigmas: list[float], input_dir: Path, result_dir: Path, seed: int = 0) -> list[Path]:
    """Generate the folders; returns them."""
    from pngan.errors import PnganError

    if not input_dir.exists():  # before numpy, Pillow and torch are imported: an argument error is instant
        raise PnganError(f"{input_dir}: no such folder or image file")
    from pngan.progress import progress

    from pngan.cli.batch import each_readable, raise_if_failed, report_failure
    from pngan.errors import WriteError
    from pngan.io.images import IMAGE_SUFFIXES, list_images, write_image
    from pngan.io.output_dir import refuse_overlap, refuse_overwriting_inputs

    if model == "gaussian":
        if not sigmas:
            raise PnganError("--noise gaussian needs --sigma, e.g. --sigma 30 50 70")
        if any(s < 0 for s in sigmas):
            raise PnganError(f"sigma must be >= 0, got {sigmas}")
        jobs = [(f"Gaussian_noise_X{s:g}", {"sigma": s}, s) for s in sigmas]
    else:
        if sigmas:
            raise PnganError(f"--sigma applies to --noise gaussian only, not {model}")
        jobs = [(FOLDERS[model], {}, 0.0)]
    files = [input_dir] if input_dir.is_file() else list_images(input_dir)
    if files[0].suffix.lower() not in IMAGE_SUFFIXES:
        raise PnganError(f"{input_dir}: neither a folder nor an image file ({', '.join(IMAGE_SUFFIXES)})")
    for folder, _, _ in jobs:
        refuse_overwriting_inputs(result_dir / folder, files, [f"{f.stem}.png" for f in files])
    refuse_overlap(input_dir, result_dir)  # results inside the input would be read as inputs next time
    from pngan.noise import get_noise_model  # imports torch: only once the arguments are checked
    from pngan.noise.awgn import file_rng

    fn = get_noise_model(model)
    failed: list[str] = []
    for folder, kw, s in jobs:
        for f, img in each_readable(progress(files, desc=folder, unit="img", leave=False), failed):
            try:
                write_image(result_dir / folder / f"{f.stem}.png", fn(img, file_rng(seed, f.name, s), **kw))
            except WriteError:
                raise  # a full disk or read-only folder: stop
            except PnganError as e:  # a bad value in this image only
                report_failure(failed, f, e)
        click.echo(f"wrote {result_dir / folder}")
    raise_if_failed(failed, len(files) * len(jobs))
    return [result_dir / j[0] for j in jobs]
