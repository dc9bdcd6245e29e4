"""OpenVINO runner (CPU by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError, PnganError, first_line
from pngan.runtimes.base import BaseRunner

HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


def require_openvino():
    try:
        import openvino as ov
    except ImportError:
        raise BackendMissingError("openvino", "openvino") from None
    return ov


def default_cpu_precision(core, precision: str) -> str | None:
    """The CPU ``INFERENCE_PRECISION_HINT`` that keeps an artifact at its own precision (see the runner)."""
    if precision == "fp32":
        return "f32"
    if precision == "fp16":
        return "f16" if "FP16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"
    return None


class OpenVinoRunner(BaseRunner):
    """Runs an OpenVINO IR (``model.xml`` + ``model.bin``).

    Speed options: ``threads`` (``INFERENCE_NUM_THREADS``), ``hint`` (``latency``: one
    stream, all threads on one request; ``throughput``: several streams, and a batch of
    N is split over parallel infer requests), ``cache_dir`` (compiled-model cache:
    the second open of the same IR skips compilation), ``device`` (OpenVINO device name)
    and ``inference_precision`` (``INFERENCE_PRECISION_HINT``; on CPU by default ``f32`` for FP32
    artifacts and ``f16`` -- or ``f32`` where the CPU has no FP16 -- for FP16 artifacts, so that
    CPUs with bf16/AMX do not silently run them at bfloat16's 8-bit mantissa (60 dB vs torch
    instead of 77 dB for the shipped DnCNN); INT8 artifacts keep the plugin's default).
    """

    backend = "openvino"

    def __init__(self, path: str | Path, *, threads: int | None = None, hint: str = "latency",
                 cache_dir: str | Path | None = None, device: str = "CPU", precision: str = "fp32",
                 inference_precision: str | None = None) -> None:
        ov = require_openvino()
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"{path}: no such OpenVINO IR file")
        if hint not in HINTS:
            raise PnganError(f"unknown OpenVINO performance hint {hint!r}; choose one of: {', '.join(HINTS)}")
        self.core = ov.Core()
        if device.split(".")[0] not in {d.split(".")[0] for d in self.core.available_devices}:
            raise PnganError(f"OpenVINO device {device!r} is not available (available: "
                             f"{', '.join(self.core.available_devices)})")
        config: dict[str, object] = {"PERFORMANCE_HINT": HINTS[hint]}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if inference_precision is None and device == "CPU":
            inference_precision = default_cpu_precision(self.core, precision)
        if inference_precision:
            config["INFERENCE_PRECISION_HINT"] = inference_precision
        if cache_dir:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            self.core.set_property({"CACHE_DIR": str(cache_dir)})
        try:
            # compile from the path (not a read model) so that CACHE_DIR can serve the blob
            self.compiled = self.core.compile_model(str(path), device, config)
        except Exception as e:  # OpenVINO raises RuntimeError with multi-line messages
            raise ArtifactError(f"{path}: OpenVINO cannot load the model ({first_line(e, 200)})") from None
        self.request = self.compiled.create_infer_request()
        ps = self.compiled.input(0).get_partial_shape()
        if ps.is_static:
            d = [int(v) for v in ps.to_shape()]
            self.static_shape = (d[0], d[2], d[3]) if len(d) == 4 else None
        self.input_dtype = np.float16 if self.compiled.input(0).get_element_type() == ov.Type.f16 else np.float32
        self.hint = hint
        self.precision = precision
        self.device = device
        self.nireq = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")) if hint == "throughput" else 1
        self._requests = None
        self.options = {"threads": threads, "hint": hint, "cache_dir": str(cache_dir) if cache_dir else None,
                        "inference_precision": inference_precision}

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self.input_dtype is not np.float32:
            x = x.astype(self.input_dtype)
        if self.nireq > 1 and x.shape[0] > 1 and self.static_shape is None:
            return self._run_parallel(x)
        self.request.infer({0: x}, share_inputs=True)
        return np.array(self.request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def _run_parallel(self, x: np.ndarray) -> np.ndarray:
        # plain infer requests, no AsyncInferQueue: its Python callbacks can deadlock at teardown
        if self._requests is None:
            self._requests = [self.compiled.create_infer_request() for _ in range(self.nireq)]
        out: list[np.ndarray] = [np.empty(0, np.float32)] * x.shape[0]
        for start in range(0, x.shape[0], self.nireq):
            busy = []
            for rq, i in zip(self._requests, range(start, min(x.shape[0], start + self.nireq))):
                rq.start_async({0: x[i:i + 1]})
                busy.append((i, rq))
            for i, rq in busy:
                rq.wait()
                out[i] = np.array(rq.get_output_tensor(0).data, dtype=np.float32, copy=True)
        return np.concatenate(out)

    def close(self) -> None:
        self._requests = None
        self.request = None
        self.compiled = None
        self.core = None
        super().close()
