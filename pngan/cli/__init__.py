"""``pngan`` command group. Each command lives in its own module and is imported lazily."""

from __future__ import annotations

import click

from pngan import __version__
from pngan.cli.demo import demo
from pngan.cli.eval_noise import eval_noise
from pngan.cli.denoise import denoise
from pngan.cli.noise_cmd import noise
from pngan.cli.parity import parity
from pngan.cli.pgap_cmd import pgap
from pngan.cli.train_cmd import generate, train
from pngan.cli.models_cmd import models
from pngan.cli.app_cmd import app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pngan")
def main() -> None:
    """PNGAN edge toolkit: realistic noise synthesis, denoising, export and runtime parity."""


main.add_command(demo)
main.add_command(eval_noise)
main.add_command(denoise)
main.add_command(noise)
main.add_command(pgap)
main.add_command(train)
main.add_command(generate)
main.add_command(models)
main.add_command(parity)
main.add_command(app)
