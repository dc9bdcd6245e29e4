"""Folder jobs that meet a bad file: report it, keep going, fail at the end with the count."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import click
import numpy as np

from pngan.errors import PnganError


def each_readable(paths: Iterable[Path], failed: list[str]) -> Iterator[tuple[Path, np.ndarray]]:
    """Yield ``(path, image)`` for each readable image; unreadable ones are reported and appended to ``failed``."""
    from pngan.io.images import read_image

    for p in paths:
        try:
            img = read_image(p)
        except PnganError as e:
            report_failure(failed, p, e)
            continue
        yield p, img


def report_failure(failed: list[str], path: Path, error: Exception) -> None:
    """Print ``error: ... (skipped)`` naming ``path`` and append the message to ``failed``."""
    text = str(error)
    msg = text if path.name in text or text.startswith(f"{path.stem}:") else f"{path.name}: {text}"
    failed.append(msg)
    click.echo(f"error: {msg} (skipped)", err=True)


def raise_if_failed(failed: list[str], total: int) -> None:
    """``PnganError`` (exit 1) when any item failed, saying that the others were written."""
    if failed:
        raise PnganError(f"{len(failed)} of {total} images failed (first: {failed[0]}); the others were written")
