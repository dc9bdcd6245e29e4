"""``pngan train STAGE --config FILE [section.key=value ...]`` and ``pngan generate``."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from pngan.cli.errors import run_cli
from pngan.errors import PnganWarning


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("stage", type=click.Choice(["denoiser", "pngan", "finetune"]))
@click.argument("overrides", nargs=-1)
@click.option("--config", "config", type=click.Path(path_type=Path), default=None, help="TOML config file.")
@click.option("--resume", is_flag=True,
              help="Continue from OUT_DIR/checkpoints/last.pt (a finished run: says so, changes nothing).")
@click.option("--export-weights", "export_weights", type=click.Path(path_type=Path), default=None,
              help="Write the trained inference weights (.safetensors with metadata) at the end.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(stage: str, overrides: tuple[str, ...], config: Path | None, resume: bool,
          export_weights: Path | None, no_progress: bool) -> None:
    """Train STAGE: denoiser (real pairs), pngan (adversarial SMNet), finetune (generated pairs).

    OVERRIDES are section.key=value pairs over the config, e.g. optim.steps=500 run.out_dir=runs/x.
    A new run refuses a run.out_dir that holds a run (continue it with --resume). The denoiser stage
    starts from the shipped weights of model.denoiser; model.denoiser_weights="" trains from scratch.
    """

    def job() -> None:
        from pngan.train.config import load_config

        cfg = load_config(config, overrides)  # checked before torch is imported
        from pngan.train.loop import train as run_train

        # prints the header, a line per validation and where the weights went
        run_train(stage, cfg, resume=resume, export_weights=export_weights, progress=not no_progress, say=click.echo)

    run_cli(job)


def clean_folder(input_dir: Path) -> Path:
    """``input_dir``, or the clean folder of a paired root (e.g. ``input/`` + ``groundtruth/``), with a warning.

    A folder with images of its own is used as it is.
    """
    from pngan.images import IMAGE_SUFFIXES

    if not input_dir.is_dir() or any(f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES for f in input_dir.iterdir()):
        return input_dir  # list_images says what is wrong, if anything
    from pngan.data.pairs import LAYOUTS

    for noisy, clean in LAYOUTS:
        if (input_dir / noisy).is_dir() and (input_dir / clean).is_dir():
            warnings.warn(f"{input_dir} holds noisy/clean pairs: generating from its clean images in "
                          f"{input_dir / clean} ({noisy}/ is not used)", PnganWarning, stacklevel=2)
            return input_dir / clean
    return input_dir


@click.command()
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Generator weights (.safetensors). Default: the shipped smnet-s.")
@click.option("--input_dir", "input_dir", type=click.Path(path_type=Path), required=True,
              help="Clean images (of a paired folder: its groundtruth/ or clean/).")
@click.option("--result_dir", "result_dir", type=click.Path(path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--samples", type=int, default=1, show_default=True, help="Samples per image (<stem>_<k>.png).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def generate(weights: Path | None, input_dir: Path, result_dir: Path, seed: int, samples: int, device: str) -> None:
    """Generate realistic noisy images from clean ones with a trained generator (seeded)."""

    def job() -> None:
        nonlocal weights
        from pngan.errors import PnganError, WriteError

        if samples < 1:
            raise PnganError("--samples must be >= 1")
        if weights is not None:
            from pngan.weights import resolve

            weights = resolve(weights)  # a shipped file by name
        if weights is not None and not weights.is_file():
            raise PnganError(f"{weights}: no such weights file")
        if not input_dir.is_dir():  # before numpy, Pillow and torch are imported: an argument error is instant
            raise PnganError(f"{input_dir}: no such folder")
        from pngan.progress import progress

        from pngan.cli.batch import each_readable, raise_if_failed, refuse_overwriting_inputs, report_failure
        from pngan.images import list_images, write_image

        files = list_images(clean_folder(input_dir))
        refuse_overwriting_inputs(result_dir, files, [f"{f.stem}.png" if samples == 1 else f"{f.stem}_{k}.png"
                                                      for f in files for k in range(samples)])
        # torch only now that the arguments are checked
        from pngan.generate import generate as sample, sample_seed
        from pngan.models import load_model, names, spec

        model = load_model("smnet-s" if weights is None else None, weights).to(device)
        if spec(model.pngan_name).kind != "generator":
            raise PnganError(f"{weights}: holds a {model.pngan_name} {spec(model.pngan_name).kind}, not a noise "
                             f"generator (generators: {', '.join(n for n in names() if spec(n).kind == 'generator')})")
        failed: list[str] = []
        for f, clean in each_readable(progress(files, desc="generate", unit="img", leave=False), failed):
            try:
                for k in range(samples):
                    name = f"{f.stem}.png" if samples == 1 else f"{f.stem}_{k}.png"
                    write_image(result_dir / name, sample(model, clean, seed=sample_seed(seed, f.name, k), device=device))
            except WriteError:
                raise  # a full disk or read-only folder: stop
            except PnganError as e:  # e.g. NaN from broken weights: this image only
                report_failure(failed, f, e)
        click.echo(f"wrote {samples * (len(files) - len(failed))} images to {result_dir}")
        raise_if_failed(failed, len(files))

    run_cli(job)
