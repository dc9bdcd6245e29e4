"""TensorRT runner (TensorRT 10 API; buffers are CUDA torch tensors, no pycuda needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError
from pngan.runtimes.base import BaseRunner, PlatformError


def require_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise BackendMissingError("tensorrt", "tensorrt") from None
    return trt


def engine_static_shape(dims: list[int]) -> tuple[int, int, int] | None:
    """``(n, h, w)`` of a fixed engine input, ``None`` when any dim is dynamic (-1)."""
    if len(dims) == 4 and all(int(d) > 0 for d in dims):
        return int(dims[0]), int(dims[2]), int(dims[3])
    return None


class TensorRTRunner(BaseRunner):
    """Runs a serialized ``model.engine`` on the GPU (engines are tied to the GPU and TensorRT version).

    Dynamic-shape engines get ``set_input_shape`` per call (within the optimization
    profile the engine was built with); static engines are tiled by ``BaseRunner.run``.
    """

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
                                "GPU/TensorRT version)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.input_dtype = torch.float16 if self.engine.get_tensor_dtype(self.input_name) == trt.DataType.HALF \
            else torch.float32
        self.static_shape = engine_static_shape(list(self.engine.get_tensor_shape(self.input_name)))
        self.precision = precision
        self.device = device
        self.stream = torch.cuda.Stream(device=device)

    def _run(self, x: np.ndarray) -> np.ndarray:
        torch = self.torch
        xin = torch.from_numpy(x).to(self.device, self.input_dtype).contiguous()
        self.context.set_input_shape(self.input_name, tuple(xin.shape))
        out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        out_dtype = torch.float16 if self.engine.get_tensor_dtype(self.output_name).name == "HALF" else torch.float32
        yout = torch.empty(out_shape, dtype=out_dtype, device=self.device)
        self.context.set_tensor_address(self.input_name, xin.data_ptr())
        self.context.set_tensor_address(self.output_name, yout.data_ptr())
        with torch.cuda.stream(self.stream):
            ok = self.context.execute_async_v3(self.stream.cuda_stream)
        self.stream.synchronize()
        if not ok:
            raise ArtifactError(f"TensorRT execution failed for input shape {tuple(x.shape)} "
                                "(outside the engine's optimization profile?)")
        return yout.float().cpu().numpy()

    def close(self) -> None:
        self.context = None
        self.engine = None
        self.runtime = None
        super().close()
