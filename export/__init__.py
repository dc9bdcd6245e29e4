"""Exporters (installed as ``pngan.export``): one entry point, a table of formats, one function per format.

``export`` and ``TARGETS`` are loaded on first use (PEP 562), so ``pngan-export --help`` and argument errors
do not import torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TARGETS", "Budget", "export"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pngan.export import exporter

        return getattr(exporter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
