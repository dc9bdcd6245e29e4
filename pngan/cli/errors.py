"""Turn expected errors into one line on stderr and a non-zero exit (never a traceback)."""

from __future__ import annotations

import sys
import warnings
from typing import Callable

import click

from pngan.errors import PnganError, PnganWarning
from pngan.progress import close_progress_bars

_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, PnganWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def run_cli(job: Callable[[], None]) -> None:
    """Run ``job``; a ``PnganError`` becomes ``error: <message>`` and exit status 1."""
    warnings.showwarning = _show_warning
    try:
        job()
    except PnganError as e:
        close_progress_bars()
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        close_progress_bars()
        click.echo("error: interrupted", err=True)
        sys.exit(130)
