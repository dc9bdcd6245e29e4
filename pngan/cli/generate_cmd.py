"""``pngan generate``: realistic noisy images from clean ones with a trained generator (logic:
:mod:`pngan.generate.folder`). Imports only click at the top."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pngan.cli.errors import run_cli


@click.command()
@click.option("--weights", type=click.Path(path_type=Path), default=None, metavar="PATH|NAME",
              help="Generator weights (.safetensors, or a shipped file's name). Default: the shipped smnet-s.")
@click.option("--artifact", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help="An exported generator (a pngan-export folder with manifest.json), run through its backend "
                   "instead of PyTorch; same seeded samples within the artifact's precision.")
@click.option("--input-dir", "input_dir", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Clean images: a folder, one image file, or a paired folder (its groundtruth/ or clean/).")
@click.option("--out", "--result-dir", "out", type=click.Path(path_type=Path), required=True, metavar="PATH",
              help="Output folder (not inside the input folder).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--samples", type=int, default=1, show_default=True, help="Samples per image (<stem>_<k>.png).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Device of the PyTorch path (--weights).")
@click.option("--strength", type=float, default=1.0, show_default=True,
              help="Scale of the noise of a generator given its noise (smnet-n): 2 is the same texture at twice "
                   "the noise std, as at a higher ISO.")
@click.option("--like", default=None, metavar="DIR|JSON|PRESET",
              help="Noise like the camera that took the noisy photos in DIR (or a `pngan noise-profile --json` "
                   "file, or a preset: phone, dslr), for a generator told the camera (smnet-c). "
                   "Default for smnet-c: the preset 'phone'.")
def generate(weights: Path | None, artifact: Path | None, input_dir: Path, out: Path, seed: int, samples: int,
             device: str, strength: float, like: str | None) -> None:
    """Generate realistic noisy images from clean ones with a trained generator (seeded)."""

    def job() -> None:
        from pngan.generate.folder import check_arguments

        check_arguments(input_dir, weights, artifact, samples, device, strength)  # before torch is imported
        # Idle OpenMP threads sleep instead of spinning: on a busy CPU spinning threads starve the ones
        # working (measured 2-4x slower on 2 shared cores); results are the same bit for bit.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from pngan.cli.batch import raise_if_failed
        from pngan.generate.folder import generate_folder

        report = generate_folder(input_dir, out, weights=weights, artifact=artifact, seed=seed, samples=samples,
                                 device=device, strength=strength, like=like,
                                 on_failure=lambda msg: click.echo(f"error: {msg} (skipped)", err=True))
        click.echo(f"{report.generator}: wrote {report.written} images to {out}")
        raise_if_failed(report.failed, report.total)

    run_cli(job)
