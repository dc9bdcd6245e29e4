"""Conventions every command shares, applied in one place (``conventions``).

* Options take ``-`` or ``_`` between words: ``--input-dir`` and the official scripts'
  ``--input_dir`` are the same option (click's ``token_normalize_func``); ``--help``
  shows the hyphen form.
* One name per concept in every command: ``--model NAME`` (a registered architecture; the
  paper's ``--method`` and pgap's old ``--denoiser`` are aliases), ``--weights PATH|NAME``,
  ``--noise NAME`` (a noise model), ``--input-dir PATH``, ``--out PATH`` (alias
  ``--result-dir``), ``--artifact PATH``; aliases are listed in ``--help`` after the name.
* Model-name options take any case and suggest the closest name for a typo, checked
  before anything heavy (torch) is imported.

This module imports click only, so ``pngan --help`` and argument errors stay fast.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

import click

# The names ``pngan.models`` registers, known here without importing torch
# (tests/test_cli_options.py checks that this equals ``pngan.models.names()``).
MODEL_NAMES = ("discriminator", "dncnn", "mirnet", "nafunet-l", "nafunet-m", "nafunet-s", "resunet-m", "resunet-s",
               "ridnet", "smnet", "smnet-c", "smnet-n", "smnet-s")
# Options whose value is a registered model name (any of its flags, as declared): ``--model`` and its aliases.
# A --model that is not free text (noise's hidden old name for --noise, a Choice) is left alone.
MODEL_OPTIONS = ("--model", "--method", "--denoiser")


def normalize_token(token: str) -> str:
    """``-`` and ``_`` are the same in option names (and subcommand/choice values)."""
    return token.replace("_", "-")


def closest_name(name: str, choices: Iterable[str]) -> str | None:
    """The choice ``name`` means: exact, then any case / ``_`` for ``-``; ``None`` if none."""
    choices = list(choices)
    if name in choices:
        return name
    key = normalize_token(name).lower()
    hits = [c for c in choices if normalize_token(c).lower() == key]
    return hits[0] if len(hits) == 1 else None


def suggestion(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice (as the config loader says), else ``""``."""
    choices = list(choices)
    low = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(normalize_token(name).lower(), list(low), n=1, cutoff=0.5)
    return f"; did you mean {low[close[0]]!r}?" if close else ""


class CliError(click.ClickException):
    """An argument error shown as the project's one ``error: ...`` line, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class ModelName(click.ParamType):
    """A registered model name in any case; a typo gets the closest name (before torch is imported)."""

    name = "model"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        hit = closest_name(str(value), MODEL_NAMES)
        if hit is None:
            raise CliError(f"unknown model {value!r}; choose one of: {', '.join(MODEL_NAMES)}"
                           f"{suggestion(str(value), MODEL_NAMES)}")
        return hit


MODEL_NAME = ModelName()


def _hyphenate(opts: list[str]) -> list[str]:
    return [normalize_token(o) if o.startswith("--") else o for o in opts]


def conventions(cmd: click.Command) -> click.Command:
    """Apply the shared conventions to ``cmd`` (and, for a group, its commands); returns ``cmd``.

    Usable as a decorator above ``@click.command``. Sets the ``-``/``_`` token
    normalization (also when a command is invoked on its own), shows option names
    with hyphens, and makes model-name options case-insensitive with suggestions.
    """
    cmd.context_settings.setdefault("help_option_names", ["-h", "--help"])
    cmd.context_settings.setdefault("token_normalize_func", normalize_token)
    for p in cmd.params:
        if not isinstance(p, click.Option):
            continue
        if any(o in MODEL_OPTIONS for o in p.opts) and isinstance(p.type, click.types.StringParamType):
            p.type = MODEL_NAME
        p.opts = _hyphenate(p.opts)
        p.secondary_opts = _hyphenate(p.secondary_opts)
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            conventions(sub)
    return cmd


class ConventionGroup(click.Group):
    """A group whose commands get ``conventions`` when added (also commands added later, elsewhere)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(conventions(cmd), name)
