"""The TensorRT runner's CUDA side (pinned copies, copy/compute stream order, batch split) on a real GPU.

TensorRT itself is not involved: ``TorchContext`` stands in for ``IExecutionContext`` and
"executes" ``y = 1 - x`` with torch on the raw stream handle and device addresses the runner
hands it, exactly where TensorRT would enqueue the engine. Skipped without CUDA; runs as a
script too (``python tests/test_tensorrt_runner_cuda.py``) on a GPU machine without pytest.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pngan.runtimes import tensorrt_runner as trr

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


class DeviceArray:
    """A device pointer seen as a torch tensor (``__cuda_array_interface__``, no copy)."""

    def __init__(self, ptr: int, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f2" if dtype == torch.float16 else "<f4",
                                         "data": (ptr, False), "version": 3, "strides": None}


class TorchContext:
    """Stand-in for ``IExecutionContext``: enqueues ``y = 1 - x`` on the stream TensorRT would get."""

    def __init__(self, in_dtype: torch.dtype, out_dtype: torch.dtype, spin: int = 0) -> None:
        self.in_dtype, self.out_dtype, self.spin = in_dtype, out_dtype, spin
        self.addr, self.shapes = {}, []

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.shape = tuple(shape)
        self.shapes.append(self.shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.shape

    def set_tensor_address(self, name: str, ptr: int) -> None:
        self.addr[name] = ptr

    def execute_async_v3(self, stream_handle: int) -> bool:
        stream = torch.cuda.ExternalStream(stream_handle)
        with torch.cuda.stream(stream):
            x = torch.as_tensor(DeviceArray(self.addr["input"], self.shape, self.in_dtype), device="cuda")
            y = torch.as_tensor(DeviceArray(self.addr["output"], self.shape, self.out_dtype), device="cuda")
            if self.spin:
                torch.cuda._sleep(self.spin)  # a slow "engine": a D2H not ordered after it reads zeros
            y.copy_(1 - x.float())
        return True


def make_runner(ctx: TorchContext, max_batch: int, max_hw: tuple[int, int]) -> trr.TensorRTRunner:
    """A runner around ``ctx`` (what ``__init__`` sets from the engine, minus TensorRT)."""
    r = object.__new__(trr.TensorRTRunner)
    r.torch, r.device, r.context = torch, "cuda:0", ctx
    r.input_name, r.output_name = "input", "output"
    r.input_dtype, r.output_dtype = ctx.in_dtype, ctx.out_dtype
    r.profile_min, r.profile_max = (1, 3, 16, 16), (max_batch, 3, *max_hw)
    r.min_side, r.max_hw = (16, 16), max_hw
    r.copy_stream, r.stream = torch.cuda.Stream(device="cuda:0"), torch.cuda.Stream(device="cuda:0")
    return r


@pytest.mark.parametrize("half", [False, True])
def test_runner_streams_and_batch_split_on_cuda(half):
    dtype = torch.float16 if half else torch.float32
    ctx = TorchContext(dtype, dtype, spin=20_000_000)
    runner = make_runner(ctx, max_batch=2, max_hw=(1024, 1024))
    x = np.random.default_rng(0).random((5, 3, 1024, 1024), dtype=np.float32)
    y = runner.run(x)
    assert ctx.shapes == [(2, 3, 1024, 1024), (2, 3, 1024, 1024), (1, 3, 1024, 1024)]
    expect = 1 - (x.astype(np.float16).astype(np.float32) if half else x)
    np.testing.assert_allclose(y, expect, atol=1e-3 if half else 0)


def test_runner_repeats_exactly_on_cuda():
    """Back-to-back calls reuse the allocator's blocks; every result must be the one for its input."""
    runner = make_runner(TorchContext(torch.float32, torch.float32), max_batch=4, max_hw=(512, 512))
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.random((6, 3, 512, 512), dtype=np.float32)
        np.testing.assert_array_equal(runner.run(x), 1 - x)


if __name__ == "__main__":
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU")
    print(torch.cuda.get_device_name(0), "torch", torch.__version__)
    for half in (False, True):
        test_runner_streams_and_batch_split_on_cuda(half)
        print(f"streams + batch split ({'fp16' if half else 'fp32'} I/O): ok")
    test_runner_repeats_exactly_on_cuda()
    print("20 repeated runs: ok")
