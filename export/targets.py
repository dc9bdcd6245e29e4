"""The export formats as the exporter uses them: ``TARGETS`` (rows of ``pngan.runtimes.formats``) and ``available``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch.nn as nn

from pngan.errors import BackendMissingError
from pngan.export.job import ExportJob
from pngan.runtimes import formats
from pngan.runtimes.formats import Format


@dataclass(frozen=True)
class Target:
    """One export format as the exporter uses it: its row of ``pngan.runtimes.formats``, functions imported on use."""

    fmt: Format

    @property
    def name(self) -> str:
        return self.fmt.name

    @property
    def precisions(self) -> tuple[str, ...]:
        return self.fmt.precisions

    @property
    def packages(self) -> tuple[str, ...]:
        return self.fmt.packages

    @property
    def calibrates(self) -> bool:
        return self.fmt.calibrates

    def fn(self, net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
        return formats.load(self.fmt.exporter)(net, folder, job)

    def check(self) -> None:
        formats.load(self.fmt.require)()


TARGETS: dict[str, Target] = {name: Target(f) for name, f in formats.FORMATS.items()}


def available(target: str, precision: str) -> str | None:
    """Why ``target`` at ``precision`` cannot be exported here, or ``None`` if it can."""
    t = TARGETS[target]
    if precision not in t.precisions:
        return f"no {precision} (supports {', '.join(t.precisions)})"
    try:
        t.check()
    except BackendMissingError as e:
        return str(e)
    return None
