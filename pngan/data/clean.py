"""Clean-only image folders (DF2K, Urban100, Kodak24, BSD68, ...)."""

from __future__ import annotations

import os
from pathlib import Path

from pngan.errors import ImageError
from pngan.io.images import IMAGE_SUFFIXES, list_images


def clean_images(root: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``root`` (and its sub-folders when ``recursive``).

    Hidden files and folders (names starting with ``.``) are skipped when recursing.
    ``ImageError`` if the folder is missing or holds no images.
    """
    r = Path(root)
    if not recursive:
        return list_images(r)
    if not r.is_dir():
        raise ImageError(f"{r}: no such folder")
    files = sorted(
        f for f in r.rglob("*")
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(r).parts)
    )
    if not files:
        raise ImageError(f"{r}: folder and its sub-folders have no images ({', '.join(IMAGE_SUFFIXES)})")
    return files
