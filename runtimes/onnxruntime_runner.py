"""ONNX Runtime runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError, PnganError, first_line
from pngan.runtimes.base import BaseRunner

OPT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
              "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


def static_shape_of(dims: list) -> tuple[int, int, int] | None:
    """``(n, h, w)`` when every dim of an N x C x H x W input is a fixed int, else ``None``."""
    if len(dims) == 4 and all(isinstance(d, int) and d > 0 for d in dims):
        return int(dims[0]), int(dims[2]), int(dims[3])
    return None


class OnnxRuntimeRunner(BaseRunner):
    """Runs an ``.onnx`` file with ONNX Runtime (CPU execution provider by default).

    Speed options: ``threads`` (intra-op threads; inter-op is 1), ``opt_level``
    (``disable``/``basic``/``extended``/``all``) and ``providers`` (execution providers
    in priority order, e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]``).
    Float16 model inputs/outputs are cast, so callers always pass and get float32.
    """

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
        if opt_level not in OPT_LEVELS:
            raise PnganError(f"unknown ONNX Runtime opt_level {opt_level!r}; choose one of: {', '.join(OPT_LEVELS)}")
        providers = list(providers or ["CPUExecutionProvider"])
        missing = [p for p in providers if p not in ort.get_available_providers()]
        if missing:
            raise PnganError(f"ONNX Runtime execution provider {missing[0]} is not available in this build "
                             f"(available: {', '.join(ort.get_available_providers())})")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[opt_level])
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # ORT raises its own exception types for corrupt files
            raise ArtifactError(f"{path}: ONNX Runtime cannot load the model ({first_line(e, 200)})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self.static_shape = static_shape_of(list(inp.shape))
        self.precision = precision
        self.device = self.session.get_providers()[0]
        self.options = {"threads": threads, "opt_level": opt_level, "providers": providers}

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self.input_dtype is not np.float32:
            x = x.astype(self.input_dtype)
        y = self.session.run(None, {self.input_name: x})[0]
        return y if y.dtype == np.float32 else y.astype(np.float32)

    def close(self) -> None:
        self.session = None
        super().close()
