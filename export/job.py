"""What one export needs besides the model: precision, shapes, calibration, metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pngan.calibration import CalibrationSource
from pngan.export.shapes import ShapeSpec


@dataclass
class ExportJob:
    """Handed to every target function (``fn(net, folder, job) -> manifest fields``)."""

    precision: str = "fp32"
    shapes: ShapeSpec = field(default_factory=ShapeSpec)
    calibration: CalibrationSource | None = None
    max_accuracy_drop: float | None = None
    info: dict[str, Any] = field(default_factory=dict)  # model/config/... stamped into metadata
    scratch: Path | None = None  # a folder for intermediates (removed with the staging folder)
    log: Callable[[str], None] | None = None  # progress lines (accuracy control)
