"""``pngan train STAGE --config FILE [section.key=value ...]``."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli


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
