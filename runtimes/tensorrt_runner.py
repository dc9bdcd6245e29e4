"""TensorRT runner (TensorRT 10 and 11 API; buffers are CUDA torch tensors, no pycuda needed).

The engine's optimization profile (profile 0) bounds what one execution takes: larger
batches are split into chunks of the profile's maximum batch, H x W larger than its
maximum are tiled by ``BaseRunner.run`` (``max_hw``), and anything else outside it is a
one-line ``InputError``. Host-to-device copies run on their own stream; the compute
stream waits for them, and the device-to-host copy is queued on the compute stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pngan.errors import ArtifactError
from pngan.runtimes.base import BaseRunner, InputError, PlatformError
from pngan.runtimes.tensorrt_version import require_tensorrt

if TYPE_CHECKING:
    import tensorrt as trt

Shape = tuple[int, ...]


def engine_static_shape(dims: list[int]) -> tuple[int, int, int] | None:
    """``(n, h, w)`` of a fixed engine input, ``None`` when any dim is dynamic (-1)."""
    if len(dims) == 4 and all(int(d) > 0 for d in dims):
        return int(dims[0]), int(dims[2]), int(dims[3])
    return None


def _fmt(shape: Shape) -> str:
    return " x ".join(map(str, shape))


def check_in_profile(shape: Shape, lo: Shape, hi: Shape) -> None:
    """One-line ``InputError`` when ``shape`` (batch aside) is outside the profile ``[lo, hi]``."""
    if len(shape) != len(lo) or any(not a <= s <= b for s, a, b in zip(shape[1:], lo[1:], hi[1:])):
        raise InputError(f"input {_fmt(shape)} is outside the TensorRT engine's shape profile "
                         f"(min {_fmt(lo)}, max {_fmt(hi)}); re-export with --min-shape/--max-shape that cover it")


def batch_chunks(n: int, max_batch: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``max_batch`` images covering ``0..n``."""
    if max_batch < 1:
        raise ArtifactError(f"TensorRT engine profile has max batch {max_batch}")
    return [(i, min(i + max_batch, n)) for i in range(0, n, max_batch)]


def bind_input_shape(context: trt.IExecutionContext, input_name: str, output_name: str, shape: Shape) -> Shape:
    """Set the input shape on ``context``; returns the output shape (one-line errors when TensorRT refuses)."""
    if not context.set_input_shape(input_name, shape):
        raise InputError(f"TensorRT refused input shape {_fmt(shape)} (outside the engine's optimization profile)")
    out = tuple(int(d) for d in context.get_tensor_shape(output_name))
    if any(d < 0 for d in out):
        raise ArtifactError(f"TensorRT left output shape {out} unresolved for input {_fmt(shape)}")
    return out


def engine_profile(engine: trt.ICudaEngine, input_name: str) -> tuple[Shape, Shape]:
    """``(min, max)`` input shapes of optimization profile 0."""
    if engine.num_optimization_profiles < 1:
        raise ArtifactError("TensorRT engine has no optimization profile")
    lo, _opt, hi = engine.get_tensor_profile_shape(input_name, 0)
    return tuple(int(d) for d in lo), tuple(int(d) for d in hi)


class TensorRTRunner(BaseRunner):
    """Runs a serialized ``model.engine`` on the GPU (engines are tied to the GPU and TensorRT version)."""

    backend = "tensorrt"

    def __init__(self, path: str | Path, *, precision: str = "fp32", device: str = "cuda:0",
                 threads: int | None = None) -> None:
        trt = require_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise PlatformError("TensorRT needs a CUDA GPU; torch sees none")
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"{path}: no such TensorRT engine")
        self.torch = torch
        self.logger = trt.Logger(trt.Logger.ERROR)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ArtifactError(f"{path}: TensorRT cannot deserialize the engine (corrupted, or built for another "
                                "GPU/TensorRT version; rebuild it from source.onnx)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.input_dtype, self.output_dtype = (
            torch.float16 if self.engine.get_tensor_dtype(n) == trt.DataType.HALF else torch.float32
            for n in (self.input_name, self.output_name))
        self.static_shape = engine_static_shape(list(self.engine.get_tensor_shape(self.input_name)))
        self.profile_min, self.profile_max = engine_profile(self.engine, self.input_name)
        self.min_side = self.profile_min[2:4]
        if self.static_shape is None:
            self.max_hw = self.profile_max[2:4]
        self.precision = precision
        self.device = device
        self.copy_stream = torch.cuda.Stream(device=device)
        self.stream = torch.cuda.Stream(device=device)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if not x.shape[0]:
            raise InputError("runner input has no images (batch 0)")
        check_in_profile(x.shape, self.profile_min, self.profile_max)
        parts = [self._run_batch(x[a:b]) for a, b in batch_chunks(x.shape[0], self.profile_max[0])]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _run_batch(self, x: np.ndarray) -> np.ndarray:
        torch: Any = self.torch
        host = torch.from_numpy(np.ascontiguousarray(x)).pin_memory()
        with torch.cuda.stream(self.copy_stream):  # H2D on the copy stream
            xin = host.to(self.device, non_blocking=True).to(self.input_dtype).contiguous()
        self.stream.wait_stream(self.copy_stream)  # compute starts after the copy
        xin.record_stream(self.stream)  # the allocator must not reuse xin before compute is done
        out_shape = bind_input_shape(self.context, self.input_name, self.output_name, tuple(xin.shape))
        with torch.cuda.stream(self.stream):
            yout = torch.empty(out_shape, dtype=self.output_dtype, device=self.device)
            self.context.set_tensor_address(self.input_name, xin.data_ptr())
            self.context.set_tensor_address(self.output_name, yout.data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise ArtifactError(f"TensorRT could not enqueue the engine for input {_fmt(tuple(x.shape))}")
            result = torch.empty(out_shape, dtype=torch.float32, pin_memory=True)
            result.copy_(yout.float(), non_blocking=True)  # D2H queued after compute, same stream
        self.stream.synchronize()
        return result.numpy()

    def close(self) -> None:
        self.context = None
        self.engine = None
        self.runtime = None
        super().close()
