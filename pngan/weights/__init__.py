"""Shipped reference weights (safetensors with model name and config in the metadata).

:func:`resolve` lets commands take a shipped file by name (``--weights dncnn_poisson-gaussian``); it
imports nothing heavy, so argument checks stay fast.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


DEFAULT_DENOISER = "resunet-s"  # what `pngan denoise` and `pngan demo` run without --method
DEFAULT_GENERATOR = "smnet-s"


def folder() -> Path:
    """The folder holding the shipped ``.safetensors`` files."""
    return Path(str(resources.files(__name__)))


def resolve(weights: str | os.PathLike) -> Path:
    """``weights`` itself, or the shipped file it names: a bare name (no folder, no suffix) that is not a
    file here becomes ``pngan/weights/<name>.safetensors`` when that exists."""
    p = Path(weights)
    if p.exists() or p.suffix or p.parent != Path("."):
        return p
    shipped = folder() / f"{p.name}.safetensors"
    return shipped if shipped.is_file() else p


def names() -> list[str]:
    """Stems of every shipped weights file."""
    return sorted(f.stem for f in folder().glob("*.safetensors"))
