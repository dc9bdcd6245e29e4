"""TensorRT engine (``model.engine``) built from the exported ONNX with the TensorRT 10 Python API.

FP16 / INT8 (implicit quantization with an entropy calibrator over the calibration
crops, cached in ``calibration.cache``), one optimization profile for dynamic
H x W from the CLI's min/opt/max. The calibrator's batching and caching live in the
pure-Python ``CalibratorCore`` (tested without TensorRT); ``make_trt_calibrator``
wraps it in a ``tensorrt.IInt8EntropyCalibrator2`` only when tensorrt imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch.nn as nn

from pngan.calibration import BatchStream, CalibrationCache
from pngan.errors import BackendMissingError, PnganError

if TYPE_CHECKING:
    from pngan.export.job import ExportJob

ENGINE_FILE = "model.engine"
CACHE_FILE = "calibration.cache"
WORKSPACE_BYTES = 2 << 30
CALIB_BATCH = 8


def require_tensorrt() -> None:
    """Raise ``BackendMissingError`` naming the ``tensorrt`` extra when tensorrt is absent."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        raise BackendMissingError("tensorrt", "tensorrt") from None


def engine_filename(precision: str) -> str:
    """The engine's file name inside its folder (the folder name carries target and precision)."""
    if precision not in ("fp32", "fp16", "int8"):
        raise PnganError(f"unknown TensorRT precision {precision!r}")
    return ENGINE_FILE


class CalibratorCore:
    """What a TensorRT calibrator does, minus TensorRT: hand out batches, read/write the cache.

    ``to_device(batch) -> int`` copies a host batch to device memory and returns its
    address (the adapter passes a CUDA copy; tests pass a fake). While a valid cache
    exists, TensorRT reads it and asks for no batches.
    """

    def __init__(self, stream: BatchStream, cache: CalibrationCache, to_device: Callable[[np.ndarray], int]) -> None:
        self.stream, self.cache, self.to_device = stream, cache, to_device
        self.batches_served = 0

    def get_batch_size(self) -> int:
        return self.stream.batch_size

    def get_batch(self, names: list[str]) -> list[int] | None:
        batch = self.stream.next_batch()
        if batch is None:
            return None
        self.batches_served += 1
        return [self.to_device(batch)]

    def read_calibration_cache(self) -> bytes | None:
        return self.cache.read()

    def write_calibration_cache(self, data: Any) -> None:
        self.cache.write(bytes(data))


def make_trt_calibrator(core: CalibratorCore) -> Any:
    """A ``trt.IInt8EntropyCalibrator2`` delegating to ``core`` (device buffers via torch CUDA tensors)."""
    import tensorrt as trt

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.core = core

        def get_batch_size(self) -> int:
            return core.get_batch_size()

        def get_batch(self, names: list[str]) -> list[int] | None:
            return core.get_batch(names)

        def read_calibration_cache(self) -> bytes | None:
            return core.read_calibration_cache()

        def write_calibration_cache(self, cache: Any) -> None:
            core.write_calibration_cache(cache)

    return EntropyCalibrator()


class TorchCudaBuffer:
    """``to_device`` for ``CalibratorCore``: keeps the last batch alive in a CUDA tensor."""

    def __init__(self) -> None:
        import torch

        if not torch.cuda.is_available():
            raise PnganError("TensorRT INT8 calibration needs a CUDA device (torch.cuda is not available)")
        self._tensor = None

    def __call__(self, batch: np.ndarray) -> int:
        import torch

        self._tensor = torch.from_numpy(batch).cuda()
        return int(self._tensor.data_ptr())


def build_engine(onnx_path: Path, job: ExportJob, cache_path: Path) -> tuple[bytes, dict[str, Any]]:
    """Parse ``onnx_path`` and build a serialized engine for the job's precision and profile."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise PnganError(f"TensorRT cannot parse the ONNX model: {errs[:300]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    profile = builder.create_optimization_profile()
    lo, opt, hi = job.shapes.profile()
    profile.set_shape("input", lo, opt, hi)
    config.add_optimization_profile(profile)
    fields: dict[str, Any] = {"profile": {"min": list(lo), "opt": list(opt), "max": list(hi)}}
    if job.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 layers fall back to FP16, not FP32
    if job.precision == "int8":
        if job.calibration is None:
            raise PnganError("INT8 needs calibration data")
        config.set_flag(trt.BuilderFlag.INT8)
        stream = BatchStream(job.calibration, min(CALIB_BATCH, job.calibration.samples))
        core = CalibratorCore(stream, CalibrationCache(cache_path), TorchCudaBuffer())
        config.int8_calibrator = make_trt_calibrator(core)
        calib_shape = stream.shape
        calib_profile = builder.create_optimization_profile()
        calib_profile.set_shape("input", calib_shape, calib_shape, calib_shape)
        config.set_calibration_profile(calib_profile)
        fields["int8_calibrator"] = {"type": "IInt8EntropyCalibrator2", "batch": stream.batch_size,
                                     "cache": cache_path.name}
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise PnganError("TensorRT failed to build the engine (see the TensorRT log above)")
    return bytes(serialized), fields


def export_tensorrt(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.engine`` (and ``calibration.cache`` for INT8); returns manifest fields."""
    require_tensorrt()
    import tensorrt as trt

    from pngan.export.onnx_export import write_fp32_onnx

    onnx_path = job.scratch / "fp32.onnx"
    write_fp32_onnx(net, onnx_path, job)
    engine, fields = build_engine(onnx_path, job, folder / CACHE_FILE)
    path = folder / engine_filename(job.precision)
    path.write_bytes(engine)
    return {"artifact": path.name, "tensorrt_version": trt.__version__, "built_from": "onnx",
            "engine_bytes": len(engine), **fields}
