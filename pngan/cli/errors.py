"""Turn expected errors into one line on stderr and a non-zero exit (never a traceback).

Warnings (``PnganWarning``) become ``warning: ...`` lines, each text once per command.
A warning with ``file`` and ``change`` attributes (``pngan.io.images.ImageWarning``: alpha
dropped, grayscale expanded) is said once per kind of change at the end, with the count of
images, instead of once per file and per target.
"""

from __future__ import annotations

import sys
import warnings
from typing import Callable

import click

from pngan.errors import PnganError, PnganWarning

_default_showwarning = warnings.showwarning


class _WarningLog:
    """The ``warning:`` lines of one command: plain ones at once (each text once), per-file ones summed."""

    def __init__(self) -> None:
        self.said: set[str] = set()
        self.files: dict[str, dict[str, str]] = {}  # change -> {path: file name}, in order of appearance

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, PnganWarning):
            _default_showwarning(message, category, filename, lineno, file, line)
            return
        change, name = getattr(message, "change", None), getattr(message, "file", None)
        if change is not None and name is not None:  # the same file read again (another target) counts once
            self.files.setdefault(str(change), {})[str(getattr(message, "path", name))] = str(name)
        elif str(message) not in self.said:
            self.said.add(str(message))
            click.echo(f"warning: {message}", err=True)

    def summary(self) -> None:
        """One line per kind of change: the file itself, or the count and the first few names."""
        for change, files in self.files.items():
            names = list(dict.fromkeys(files.values()))  # a name in two folders (input/, groundtruth/) shown once
            if len(files) == 1:
                click.echo(f"warning: {names[0]}: {change}", err=True)
            else:
                shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
                click.echo(f"warning: {change} in {len(files)} images ({shown})", err=True)
        self.files.clear()


def _close_progress_bars() -> None:
    """Close open bars (tqdm is imported only when a command has used it)."""
    if "pngan.progress" in sys.modules:
        sys.modules["pngan.progress"].close_progress_bars()


def run_cli(job: Callable[[], None]) -> None:
    """Run ``job``; a ``PnganError`` becomes ``error: <message>`` and exit status 1."""
    log = _WarningLog()
    with warnings.catch_warnings():
        warnings.simplefilter("always", PnganWarning)  # every one reaches the log, which says each once
        warnings.showwarning = log.show
        try:
            job()
        except PnganError as e:
            _close_progress_bars()
            log.summary()
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            _close_progress_bars()
            log.summary()
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        log.summary()
