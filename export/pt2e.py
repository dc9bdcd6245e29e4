"""INT8 through PT2E (``torchao.quantization.pt2e``), shared by the ExecuTorch and LiteRT targets.

The project's calibration policy, as for ONNX Runtime and OpenVINO: the calibration crops
chosen by ``pngan.calibration.policy``, global min/max activation ranges (``MinMaxObserver``
over every crop, not the quantizers' default histogram), and the input quantizer pinned to
the model's input range [0, 1] (scale 1/255: exact for 8-bit images). In a residual
denoiser (``x - body(x)``) a calibrated input range would clip every pixel brighter than
the calibration crops (see README, "Why OpenVINO INT8 used to lose 3-7 dB").
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from pngan.calibration import CalibrationSource
from pngan.errors import PnganError


def with_activation_ctr(config: Any, ctr: Any) -> Any:
    """``config`` (a PT2E ``QuantizationConfig``) with its static activation specs built by ``ctr``."""

    def swap(spec: Any) -> Any:
        if spec is None or getattr(spec, "is_dynamic", False):
            return spec
        return dataclasses.replace(spec, observer_or_fake_quant_ctr=ctr)

    return dataclasses.replace(config, input_activation=swap(config.input_activation),
                               output_activation=swap(config.output_activation))


def global_minmax(config: Any) -> Any:
    """``config`` with its activation observers replaced by ``MinMaxObserver`` (global min/max)."""
    from torchao.quantization.pt2e.observer import MinMaxObserver

    return with_activation_ctr(config, MinMaxObserver.with_args(eps=2 ** -12))


VALUE_KEEPING = ("pad", "slice", "view", "clone", "copy", "contiguous", "index", "select", "narrow", "reshape",
                 "permute", "transpose", "expand", "unsqueeze", "squeeze")  # ops that only move input values


def _from_input(node: Any) -> bool:
    """Whether ``node`` is a graph input, or the input moved by padding/slicing/reshaping only."""
    while getattr(node, "op", None) == "call_function" and node.args:
        name = str(getattr(node.target, "__name__", node.target))
        if not any(k in name for k in VALUE_KEEPING):
            return False
        node = node.args[0]
    return getattr(node, "op", None) == "placeholder"


def pin_input_observers(prepared: torch.fx.GraphModule, low: float = 0.0, high: float = 1.0) -> int:
    """Set every observer of the graph input (or of it padded/sliced) to ``[low, high]``; returns how many."""
    n = 0
    for node in prepared.graph.nodes:
        if node.op != "call_module" or not node.args or not _from_input(node.args[0]):
            continue
        obs = getattr(prepared, str(node.target))
        if hasattr(obs, "min_val") and hasattr(obs, "max_val"):
            obs.min_val = torch.tensor(low)
            obs.max_val = torch.tensor(high)
            n += 1
    return n


def _fit(x: np.ndarray, multiple: int) -> torch.Tensor:
    """A calibration crop edge-padded to a multiple of the export's size step."""
    h, w = x.shape[2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
    return torch.from_numpy(np.ascontiguousarray(x))


def quantize(model: nn.Module, sample: torch.Tensor, dynamic_shapes: Any, quantizer: Any,
             calibration: CalibrationSource | None, multiple: int = 1,
             fold: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """Export ``model``, insert observers for ``quantizer``, calibrate, pin the input, convert.

    ``fold`` folds the weight quantization into int8 constants (ExecuTorch; LiteRT wants them unfolded).
    Returns the quantized module (quantize/dequantize pairs around int8 ops, ready for the
    target's lowering) and the manifest's ``quantization`` record.
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if calibration is None:
        raise PnganError("INT8 needs calibration data (pass --calib-dir)")
    gm = torch.export.export(model, (sample,), dynamic_shapes=dynamic_shapes).module()
    prepared = prepare_pt2e(gm, quantizer)
    if not any(n.op == "call_module" and "activation_post_process" in str(n.target) for n in prepared.graph.nodes):
        raise PnganError(f"INT8: {type(quantizer).__name__} found no operator to quantize in this model")
    with torch.no_grad():
        for x in calibration.inputs():
            prepared(_fit(x, multiple))
    pinned = pin_input_observers(prepared)
    converted = convert_pt2e(prepared, fold_quantize=fold)
    record = {"tool": "torchao PT2E (prepare_pt2e, convert_pt2e)", "quantizer": type(quantizer).__name__,
              "weights": "int8 symmetric per-channel", "activations": "int8 per-tensor, global min/max",
              "input_range_pinned": [0.0, 1.0] if pinned else None, "calibration_crops": calibration.samples}
    return converted, record
