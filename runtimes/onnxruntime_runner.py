"""ONNX Runtime runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError
from pngan.runtimes.base import BaseRunner

OPT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
              "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


class OnnxRuntimeRunner(BaseRunner):
    """Runs an ``.onnx`` file with ONNX Runtime (CPU execution provider by default)."""

    backend = "onnxruntime"

    def __init__(self, path: str | Path, *, threads: int | None = None, opt_level: str = "all",
                 providers: list[str] | None = None, precision: str = "fp32") -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendMissingError("onnxruntime", "export") from None
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"{path}: no such ONNX file")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[opt_level])
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types for corrupt files
            raise ArtifactError(f"{path}: ONNX Runtime cannot load the model ({str(e).splitlines()[0][:200]})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.precision = precision
        self.device = self.session.get_providers()[0]

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]

    def close(self) -> None:
        self.session = None
