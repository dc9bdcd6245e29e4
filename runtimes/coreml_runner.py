"""Core ML runner: prediction needs macOS (coremltools can convert, not run, elsewhere)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError, PnganError, first_line
from pngan.runtimes.base import BaseRunner, PlatformError

COMPUTE_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")


class CoreMLRunner(BaseRunner):
    """Runs a ``model.mlpackage`` with coremltools on macOS.

    Options: ``compute_units`` (``ALL``, ``CPU_ONLY``, ``CPU_AND_GPU``, ``CPU_AND_NE``).
    Core ML models are exported for one input shape or a range; ``static_shape`` comes
    from the manifest's ``input_shape`` when present.
    """

    backend = "coreml"

    def __init__(self, path: str | Path, *, compute_units: str = "ALL", precision: str = "fp32",
                 input_shape: list[int] | None = None, input_name: str = "input", output_name: str = "output",
                 threads: int | None = None) -> None:
        if sys.platform != "darwin":
            raise PlatformError(f"Core ML prediction needs macOS (this is {sys.platform}); "
                                "run Core ML artifacts on a Mac")
        try:
            import coremltools as ct
        except ImportError:
            raise BackendMissingError("coremltools", "coreml") from None
        path = Path(path)
        if not path.exists():
            raise ArtifactError(f"{path}: no such Core ML package")
        if compute_units not in COMPUTE_UNITS:
            raise PnganError(f"unknown compute_units {compute_units!r}; choose one of: {', '.join(COMPUTE_UNITS)}")
        try:
            self.model = ct.models.MLModel(str(path), compute_units=getattr(ct.ComputeUnit, compute_units))
        except Exception as e:
            raise ArtifactError(f"{path}: Core ML cannot load the model ({first_line(e, 200)})") from None
        spec = self.model.get_spec()
        self.input_name = spec.description.input[0].name if spec.description.input else input_name
        self.output_name = spec.description.output[0].name if spec.description.output else output_name
        if input_shape and len(input_shape) == 4:
            self.static_shape = (int(input_shape[0]), int(input_shape[2]), int(input_shape[3]))
        self.precision = precision
        self.device = compute_units

    def _run(self, x: np.ndarray) -> np.ndarray:
        outs = [np.asarray(self.model.predict({self.input_name: x[i:i + 1]})[self.output_name], np.float32)
                for i in range(x.shape[0])]
        return np.concatenate(outs)

    def close(self) -> None:
        self.model = None
        super().close()
