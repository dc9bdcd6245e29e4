"""``pngan noise``: the hand-made noise baselines written as image folders (the official X30/X50/X70 script)."""

from __future__ import annotations

import zlib
from pathlib import Path

import click

from pngan.cli.errors import run_cli

FOLDERS = {"poisson-gaussian": "PoissonGaussian_noise", "camera": "Camera_noise"}


@click.command()
@click.option("--model", "model", type=click.Choice(["gaussian", "poisson-gaussian", "camera"]),
              default="gaussian", show_default=True, help="Noise model.")
@click.option("--sigma", type=float, multiple=True,
              help="AWGN sigma(s) on the 0-255 scale, e.g. --sigma 30 50 70 (gaussian only).")
@click.option("--input_dir", "input_dir", type=click.Path(path_type=Path), required=True, help="Clean images.")
@click.option("--result_dir", "result_dir", type=click.Path(path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.argument("more_sigmas", nargs=-1, type=float, metavar="")
def noise(model: str, sigma: tuple[float, ...], input_dir: Path, result_dir: Path, seed: int,
          more_sigmas: tuple[float, ...]) -> None:
    """Write noisy copies of INPUT_DIR: RESULT_DIR/Gaussian_noise_X<sigma>/<name>.png, one folder per sigma.

    Each image's noise comes from (seed, file name), so results do not depend on
    the order or number of files. Output is 8-bit PNG (lossless) with the source's stem.
    """
    run_cli(lambda: run_noise(model, list(sigma) + list(more_sigmas), input_dir, result_dir, seed))


def _rng(seed: int, name: str, sigma: float):
    import numpy as np

    return np.random.default_rng([seed, zlib.crc32(name.encode()), int(round(sigma * 1000))])


def run_noise(model: str, sigmas: list[float], input_dir: Path, result_dir: Path, seed: int = 0) -> list[Path]:
    """Generate the folders; returns them."""
    from pngan.errors import PnganError

    if not input_dir.is_dir():  # before numpy, Pillow and torch are imported: an argument error is instant
        raise PnganError(f"{input_dir}: no such folder")
    from pngan.progress import progress

    from pngan.cli.batch import each_readable, raise_if_failed, refuse_overwriting_inputs, report_failure
    from pngan.errors import WriteError
    from pngan.images import list_images, write_image

    if model == "gaussian":
        if not sigmas:
            raise PnganError("--model gaussian needs --sigma, e.g. --sigma 30 50 70")
        if any(s < 0 for s in sigmas):
            raise PnganError(f"sigma must be >= 0, got {sigmas}")
        jobs = [(f"Gaussian_noise_X{s:g}", {"sigma": s}, s) for s in sigmas]
    else:
        if sigmas:
            raise PnganError(f"--sigma applies to --model gaussian only, not {model}")
        jobs = [(FOLDERS[model], {}, 0.0)]
    files = list_images(input_dir)
    for folder, _, _ in jobs:
        refuse_overwriting_inputs(result_dir / folder, files, [f"{f.stem}.png" for f in files])
    from pngan.noise import get_noise_model  # imports torch: only once the arguments are checked

    fn = get_noise_model(model)
    failed: list[str] = []
    for folder, kw, s in jobs:
        for f, img in each_readable(progress(files, desc=folder, unit="img", leave=False), failed):
            try:
                write_image(result_dir / folder / f"{f.stem}.png", fn(img, _rng(seed, f.name, s), **kw))
            except WriteError:
                raise  # a full disk or read-only folder: stop
            except PnganError as e:  # a bad value in this image only
                report_failure(failed, f, e)
        click.echo(f"wrote {result_dir / folder}")
    raise_if_failed(failed, len(files) * len(jobs))
    return [result_dir / j[0] for j in jobs]
