"""``pngan`` command group. Command modules import only click at the top (heavy modules inside the commands)."""

from __future__ import annotations

import click

from pngan import __version__
from pngan.cli.app_cmd import app
from pngan.cli.demo import demo
from pngan.cli.denoise import denoise
from pngan.cli.eval_noise import eval_noise
from pngan.cli.generate_cmd import generate
from pngan.cli.models_cmd import models
from pngan.cli.noise_cmd import noise
from pngan.cli.noise_profile_cmd import noise_profile
from pngan.cli.options import ConventionGroup, conventions
from pngan.cli.parity import parity
from pngan.cli.pgap_cmd import pgap
from pngan.cli.train_cmd import train


@click.group(cls=ConventionGroup)
@click.version_option(__version__, prog_name="pngan")
def main() -> None:
    """PNGAN edge toolkit: realistic noise synthesis, denoising, export and runtime parity.

    Options take '-' or '_' between words: --input-dir and --input_dir (the official
    scripts' spelling) are the same option. Model names take any case (--model DnCNN).
    One name per concept: --model NAME (an architecture), --weights PATH|NAME, --noise NAME
    (a noise model), --input-dir PATH, --out PATH, --artifact PATH; the paper's --method and
    --result_dir still work as aliases.
    """


for _cmd in (demo, eval_noise, denoise, noise, noise_profile, pgap, train, generate, models, parity, app):
    main.add_command(_cmd)
conventions(main)  # the group's own settings (its commands got theirs in add_command)
