"""OpenVINO IR (``model.xml``/``model.bin``): FP32, FP16 (compressed weights), INT8 via NNCF.

The IR is converted from the exported ONNX file (same graph as the ONNX target, dynamic
N/H/W kept). INT8 uses ``nncf.quantize``; with ``--mixed`` the layers whose quantization costs most on
the validation pairs stay in float (NNCF's ignored scope, chosen by ``pngan.export.mixed``).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch.nn as nn

from pngan.errors import BackendMissingError, PnganError

if TYPE_CHECKING:
    from pngan.export.job import ExportJob


def require_openvino() -> None:
    """Raise ``BackendMissingError`` naming the ``openvino`` extra when openvino/nncf are absent."""
    for mod in ("openvino", "nncf"):
        try:
            __import__(mod)
        except ImportError:
            raise BackendMissingError(mod, "openvino") from None


def pin_input_range(model: Any, low: float = 0.0, high: float = 1.0) -> int:
    """Set every FakeQuantize fed by a model input to ``[low, high]``; returns how many.

    NNCF sets the input quantizer's range from the calibration crops (by default the
    *mean* of their per-crop maxima). In a residual denoiser (``x - body(x)``) that
    quantizer also feeds the skip connection, so every pixel brighter than the calibration
    range is clipped at the output: on dark real photos (PolyU) that cost 3-6 dB. The
    input range is known, [0, 1]; with 256 levels it is exact for 8-bit images.
    """
    from openvino import opset13

    ops = input_quantizers(model)
    for op in ops:
        shape = op.input_value(1).get_node().get_data().shape
        for i, v in ((1, low), (2, high), (3, low), (4, high)):
            op.input(i).replace_source_output(opset13.constant(np.full(shape, v, np.float32)).output(0))
    model.validate_nodes_and_infer_types()
    return len(ops)


def input_quantizers(model: Any) -> list[Any]:
    """The FakeQuantize ops fed by a model input."""
    return [op for op in model.get_ordered_ops() if op.get_type_name() == "FakeQuantize"
            and op.input_value(0).get_node().get_type_name() == "Parameter"]


def _advanced(nncf: Any) -> Any:
    """Activation ranges from the global min/max over the crops (as ONNX Runtime's MinMax), not their mean."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import (AggregatorType, RangeEstimatorParameters,
                                                   StatisticsCollectorParameters, StatisticsType)

    rng = RangeEstimatorParameters(min=StatisticsCollectorParameters(StatisticsType.MIN, AggregatorType.MIN),
                                   max=StatisticsCollectorParameters(StatisticsType.MAX, AggregatorType.MAX))
    return AdvancedQuantizationParameters(activations_range_estimator_params=rng)


def _fq_inputs(op: Any) -> list[int]:
    """Indices of ``op``'s inputs fed by an activation FakeQuantize (one whose data input is not a constant)."""
    out = []
    for i in range(op.get_input_size()):
        src = op.input_value(i).get_node()
        if src.get_type_name() == "FakeQuantize" and src.input_value(0).get_node().get_type_name() != "Constant":
            out.append(i)
    return out


def ov_layers(q: Any) -> list[str]:
    """Friendly names of the ops of the INT8 model ``q`` whose inputs are quantized (what an ignored scope names)."""
    from pngan.export.mixed import SHAPE_OPS

    return [op.get_friendly_name() for op in q.get_ordered_ops()
            if op.get_type_name() not in ("FakeQuantize", *SHAPE_OPS) and _fq_inputs(op)]


def bypass(q: Any, layers: list[str]) -> Any:
    """A copy of ``q`` whose ops ``layers`` read their inputs unquantized (activation FakeQuantize bypassed)."""
    m = q.clone()
    names = set(layers)
    for op in m.get_ordered_ops():
        if op.get_friendly_name() in names:
            for i in _fq_inputs(op):
                op.input(i).replace_source_output(op.input_value(i).get_node().input_value(0))
    m.validate_nodes_and_infer_types()
    return m


def _quantize(nncf: Any, model: Any, job: ExportJob, float_layers: list[str]) -> Any:
    """``nncf.quantize`` with ``float_layers`` in its ignored scope and the input range pinned to [0, 1]."""
    from pngan.calibration import nncf_dataset

    scope = nncf.IgnoredScope(names=list(float_layers), validate=False) if float_layers else None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        q = nncf.quantize(model.clone(), nncf_dataset(job.calibration), subset_size=job.calibration.samples,
                          advanced_parameters=_advanced(nncf), ignored_scope=scope)
    pin_input_range(q)
    return q


def quantize_int8(model: Any, job: ExportJob, net: nn.Module | None = None) -> tuple[Any, dict[str, Any]]:
    """NNCF post-training INT8; with ``job.mixed`` the fewest layers in float that meet ``job.max_drop``.

    Activation ranges are the global min/max over the calibration crops and the input's range is pinned to
    [0, 1] (see ``pin_input_range``). The mixed search (``pngan.export.mixed``) scores candidates on the
    job's validation pairs against ``net`` in torch and reports each one through the job's ``log``.
    """
    import nncf

    if job.calibration is None:
        raise PnganError("INT8 needs calibration data")
    info: dict[str, Any] = {"tool": f"nncf {nncf.__version__}", "preset": "performance (symmetric)",
                            "activation_ranges": "global min/max over the calibration crops",
                            "input_range": [0.0, 1.0], "method": "nncf.quantize"}
    logging.getLogger("nncf").setLevel(logging.ERROR)
    if not job.mixed:
        q = _quantize(nncf, model, job, [])
    else:
        q, info["mixed"] = _mixed(nncf, model, job, net)
        info["method"] = "nncf.quantize, ignored scope from the mixed-precision search"
    info["pinned_input_quantizers"] = len(input_quantizers(q))
    return q, info


def _mixed(nncf: Any, model: Any, job: ExportJob, net: nn.Module | None) -> tuple[Any, dict[str, Any]]:
    import openvino as ov

    from pngan.export.mixed import search_for_job

    core = ov.Core()

    def runner(q: Any) -> Any:
        compiled = core.compile_model(q, "CPU")
        out = compiled.outputs[0]
        return lambda x: compiled(x)[out]

    def build(float_layers: list[str]) -> tuple[Any, Any]:
        q = _quantize(nncf, model, job, float_layers)
        return q, runner(q)

    return search_for_job(net, job, ov_layers, build, lambda q, layers: runner(bypass(q, layers)))


def export_openvino(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.xml`` + ``model.bin``; returns manifest fields."""
    import openvino as ov

    from pngan.export.onnx_export import write_fp32_onnx

    onnx_path = job.scratch / "fp32.onnx"
    write_fp32_onnx(net, onnx_path, job)
    model = ov.convert_model(str(onnx_path))
    fields: dict[str, Any] = {"converted_from": "onnx", "weights_file": "model.bin"}
    if job.precision == "int8":
        model, fields["quantization"] = quantize_int8(model, job, net)
    for k, v in (("model", job.info["model"]), ("precision", job.precision),
                 ("weights_sha256", job.info.get("weights_sha256"))):
        if v is not None:  # read back by pngan parity for a bare model.xml
            model.set_rt_info(str(v), ["pngan", k])
    xml = folder / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=job.precision == "fp16")
    return {"artifact": xml.name, **fields}
