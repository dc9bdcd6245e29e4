"""LiteRT (TensorFlow Lite) flatbuffer ``model.tflite``: FP32, FP16 weights, INT8 (PT2E); fixed-size signatures.

``litert_torch`` cannot convert dynamic H x W (upstream litert-torch issue 685), so one
file holds one signature per size of ``--litert-sizes`` (weights shared); the runner feeds
an image of a signature's size as it is, edge-pads a smaller one to the smallest signature
holding it and tiles a larger one with the largest signature (``fit`` in the manifest).
Transposed convolutions are rewritten as sub-pixel convolutions first
(``pngan.export.rewrite``: LiteRT cannot legalize SMNet's; same outputs, same weights).

FP16: float16 weights (``ai_edge_quantizer`` float casting; XNNPACK computes in float32 on
this CPU, in float16 where the phone's delegate is told to). INT8: ``pngan.export.pt2e``
with litert_torch's ``PT2EQuantizer`` (per-channel symmetric weights, int8 activations).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from pngan.errors import BackendMissingError, PnganError
from pngan.export.lowering import operator_error, size_step
from pngan.export.rewrite import subpixel_upsampling
from pngan.models.inference import InferenceModel
from pngan.runtimes.quiet import hush_loggers, quiet

if TYPE_CHECKING:
    from pngan.export.job import ExportJob

FIT = ("an input of a signature's size runs as it is; a smaller one is edge-padded to the smallest signature "
       "holding it and cropped back; a larger one is tiled with the largest signature (overlap from the "
       "network's receptive radius)")


def require_litert() -> None:
    """Raise ``BackendMissingError`` naming the ``litert`` extra when litert-torch/ai-edge-litert are absent."""
    hush_loggers()
    for mod, pkg in (("litert_torch", "litert-torch"), ("ai_edge_litert.interpreter", "ai-edge-litert"),
                     ("torchao", "torchao")):
        try:
            with quiet():
                __import__(mod)
        except ImportError:
            raise BackendMissingError(pkg, "litert") from None


def signature_name(h: int, w: int) -> str:
    """The name of the signature for ``h x w`` inputs."""
    return f"size_{h}x{w}"


def _int8(model: nn.Module, job: ExportJob, step: int) -> tuple[nn.Module, Any, dict[str, Any]]:
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig

    from pngan.export.pt2e import global_minmax, quantize

    sizes = job.shapes.signature_sizes()
    crop = job.shapes.calib_hw
    sides = [s for hw in (*sizes, crop) for s in hw]
    if step > 1 and any(s % step for hw in sizes for s in hw):
        raise PnganError(f"LiteRT INT8 of this network needs --litert-sizes that are multiples of {step}, got "
                         f"{', '.join(f'{h}x{w}' for h, w in sizes)}")
    dims = {i: (torch.export.Dim(f"{n}_{step}", min=1, max=-(-max(sides) // step)) * step if step > 1
                else torch.export.Dim(n, min=1, max=max(sides)))
            for i, n in ((2, "height"), (3, "width"))}
    quantizer = PT2EQuantizer().set_global(global_minmax(get_symmetric_quantization_config(
        is_per_channel=True, is_dynamic=False)))
    sample = torch.rand(1, 3, *sizes[0])
    qmodel, record = quantize(model, sample, {"x": dims}, quantizer, job.calibration, step, fold=False)
    return qmodel, QuantConfig(pt2e_quantizer=quantizer), record


def fp16_weights(path: Path) -> dict[str, Any]:
    """Rewrite ``path`` in place with float16 weights (``ai_edge_quantizer`` float casting)."""
    from ai_edge_quantizer import qtyping, quantizer

    qt = quantizer.Quantizer(str(path))
    qt.update_quantization_recipe(
        regex=".*", operation_name="*", algorithm_key="float_casting",
        op_config=qtyping.OpQuantizationConfig(
            weight_tensor_config=qtyping.TensorQuantizationConfig(num_bits=16, dtype=qtyping.TensorDataType.FLOAT),
            compute_precision=qtyping.ComputePrecision.FLOAT, explicit_dequantize=True))
    qt.quantize().export_model(str(path), overwrite=True)
    return {"tool": "ai_edge_quantizer float_casting", "weights": "float16", "activations": "float32"}


def inspect(path: Path) -> tuple[list[str], dict[str, Any]]:
    """Sorted distinct builtin op names of a ``.tflite`` file, and its I/O dtypes (scale, zero point if int8)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    r = it.get_signature_runner(next(iter(it.get_signature_list())))
    io = {}
    for kind, details in (("input", r.get_input_details()), ("output", r.get_output_details())):
        d = next(iter(details.values()))
        dtype = np.dtype(d["dtype"]).name
        io[kind] = {"dtype": dtype} if dtype == "float32" else {
            "dtype": dtype, "scale": float(d["quantization"][0]), "zero_point": int(d["quantization"][1])}
    return sorted({d["op_name"] for d in it._get_ops_details()}), io


def export_litert(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.tflite`` with one signature per size; returns manifest fields."""
    require_litert()
    import litert_torch

    step = size_step(net)
    sizes = job.shapes.signature_sizes()
    mobile, rewritten = subpixel_upsampling(net)
    model: nn.Module = InferenceModel(mobile).eval()
    quant_config, record = None, None
    path = folder / "model.tflite"
    with quiet():
        if job.precision == "int8":
            try:
                model, quant_config, record = _int8(model, job, step)
            except PnganError:
                raise
            except Exception as e:  # noqa: BLE001
                raise operator_error(e, "LiteRT INT8 quantization failed") from e
        try:
            conv: Any = litert_torch
            for h, w in sizes:
                conv = conv.signature(signature_name(h, w), model, (torch.rand(1, 3, h, w),))
            edge = conv.convert(quant_config=quant_config)
            edge.export(str(path))
        except PnganError:
            raise
        except Exception as e:  # noqa: BLE001 - converter errors are long; keep one line naming the op
            raise operator_error(e, "LiteRT cannot convert the model") from e
        if job.precision == "fp16":
            record = fp16_weights(path)
        ops, io = inspect(path)
    fields: dict[str, Any] = {
        "artifact": path.name, "signatures": [{"name": signature_name(h, w), "input_shape": [1, 3, h, w]}
                                              for h, w in sizes],
        "input_name": "args_0", "output_name": "output_0", "fit": FIT, "dynamic_dims": [], "batch": 1,
        "ops": ops, "io": io, "rewrites": ({"subpixel_upsampling": rewritten} if rewritten else {})}
    if record:
        fields["quantization"] = record
    return fields

