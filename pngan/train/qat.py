"""Quantization-aware training (QAT): the denoiser's training forward with INT8 fake quantization.

``model.qat = true`` trains the same float weights through a PT2E QAT graph
(``torchao.quantization.pt2e.prepare_qat_pt2e`` with ExecuTorch's ``XNNPACKQuantizer``,
per-channel symmetric INT8 weights, per-tensor INT8 activations on every convolution, addition
and pixel shuffle, as the exporters quantize them): each step rounds weights and activations as an
INT8 runtime would, and the gradient passes the rounding straight through. The graph shares its
parameters with the plain network, so validation, checkpoints and the shipped weights stay plain
float tensors; the export then calibrates them as it calibrates any weights (``pngan.export``),
on OpenVINO, ONNX Runtime, ExecuTorch or LiteRT alike.

The graph is exported once for the training crop size (``data.patch``); the batch dimension is
dynamic. Its observers (a moving average of each batch's min/max per tensor) are saved in the checkpoint as
``qat``, so a resumed run rounds as an uninterrupted one would.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from pngan.errors import BackendMissingError, PnganError


RANGES = ("moving", "global")  # experimental.qat_ranges: how the activations' rounding ranges are tracked


def _quantizer(ranges: str = "moving"):
    try:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer, get_symmetric_quantization_config)
    except ImportError:
        raise BackendMissingError("executorch (its XNNPACKQuantizer, for model.qat)", "executorch") from None
    config = get_symmetric_quantization_config(is_per_channel=True, is_qat=True)
    return XNNPACKQuantizer().set_global(_global_ranges(config) if ranges == "global" else config)


def _global_ranges(config):
    """``config`` with each activation fake-quantized over the running global min/max of every batch seen.

    The trial ``experimental.qat_ranges = "global"``: the exporters calibrate on global min/max over their crops
    (``pngan.export.pt2e.global_minmax``), 1.6x (up to 3x) coarser steps than the default moving average of
    per-batch ranges ends with; matching them lost more in INT8, not less (docs/parity.md#quantization-aware-training).
    """
    from torchao.quantization.pt2e.fake_quantize import FakeQuantize
    from torchao.quantization.pt2e.observer import MinMaxObserver

    from pngan.export.pt2e import with_activation_ctr

    return with_activation_ctr(config, FakeQuantize.with_args(observer=MinMaxObserver.with_args(eps=2 ** -12)))


def qat_graph(net: nn.Module, patch: int, batch: int, device: torch.device,
              ranges: str = "moving") -> torch.fx.GraphModule:
    """``net``'s forward with INT8 fake quantization on ``(N, C, patch, patch)`` crops; shares ``net``'s parameters.

    ``ranges``: ``"moving"`` (the QAT default, a moving average of each batch's min/max) or ``"global"``."""
    from torchao.quantization.pt2e.quantize_pt2e import prepare_qat_pt2e

    if ranges not in RANGES:
        raise PnganError(f"experimental.qat_ranges must be one of {', '.join(RANGES)}, got {ranges!r}")
    quantizer = _quantizer(ranges)
    channels = next((m.in_channels for m in net.modules() if isinstance(m, nn.Conv2d)), 3)
    sample = torch.rand(max(batch, 2), channels, patch, patch, device=device)
    n = torch.export.Dim("batch", min=1, max=max(batch, 2) * 64)
    try:
        gm = torch.export.export(net, (sample,), dynamic_shapes=({0: n},)).module()
        prepared = prepare_qat_pt2e(gm, quantizer)
    except Exception as e:  # an operator torch.export or the quantizer cannot take
        raise PnganError(f"model.qat: cannot prepare {type(net).__name__} for quantization-aware training "
                         f"({str(e).splitlines()[0][:160]})") from None
    plain = {p.data_ptr() for p in net.parameters()}
    if not all(p.data_ptr() in plain for p in prepared.parameters()):  # would train a copy, not the shipped weights
        raise PnganError("model.qat: the QAT graph does not share the network's parameters")
    if fake_quantizers(prepared) == 0:
        raise PnganError(f"model.qat: the quantizer found no operator to quantize in {type(net).__name__}")
    return prepared


def fake_quantizers(prepared: nn.Module) -> int:
    """How many fake-quantize modules ``prepared`` holds (weights and activations)."""
    return sum(1 for m in prepared.modules() if hasattr(m, "fake_quant_enabled"))


def check_qat_session(amp_dtype: torch.dtype | None, world: int, compile: bool) -> None:
    """Refuse, in one line, the settings QAT does not run with."""
    if amp_dtype is not None:
        raise PnganError("model.qat: fake quantization runs in float32; set run.amp=off")
    if world > 1:
        raise PnganError("model.qat: runs on one process (no DDP)")
    if compile:
        raise PnganError("model.qat: run.compile is not supported with the QAT graph; set run.compile=false")
