"""What one export needs besides the model: precision, shapes, calibration, metadata, the mixed-precision budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pngan.calibration import CalibrationSource
from pngan.calibration.mix import CalibrationMix
from pngan.export.shapes import ShapeSpec
from pngan.runtimes.parity_rules import DEFAULT_MAX_DROP
from pngan.runtimes.val_sets import ValSet


@dataclass
class ExportJob:
    """Handed to every target function (``fn(net, folder, job) -> manifest fields``)."""

    precision: str = "fp32"
    shapes: ShapeSpec = field(default_factory=ShapeSpec)
    calibration: CalibrationSource | CalibrationMix | None = None
    info: dict[str, Any] = field(default_factory=dict)  # model/config/... stamped into metadata
    scratch: Path | None = None  # a folder for intermediates (removed with the staging folder)
    log: Callable[[str], None] | None = None  # progress lines (the mixed-precision search)
    mixed: bool = False  # INT8 keeping the fewest layers in float that meet max_drop on val_sets
    max_drop: float = DEFAULT_MAX_DROP
    val_sets: list[ValSet] | None = None
