"""OpenVINO IR (``model.xml``/``model.bin``): FP32, FP16 (compressed weights), INT8 via NNCF.

The IR is converted from the exported ONNX file (same graph as the ONNX target, dynamic
N/H/W kept). INT8 uses ``nncf.quantize``; with ``max_accuracy_drop`` it uses
``nncf.quantize_with_accuracy_control`` with a PSNR validation on the calibration pairs
(noisy crop -> clean crop), which reverts the most sensitive layers to float.
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


def psnr_validation(compiled_model: Any, pairs: Any) -> float:
    """Mean PSNR (dB) of the model's output against the clean crops (NNCF validation function)."""
    from pngan.metrics import psnr_float

    out = compiled_model.outputs[0]
    scores = [psnr_float(np.clip(compiled_model(x)[out], 0, 1), clean) for x, clean in pairs]
    return float(np.mean(scores))


def pin_input_range(model: Any, low: float = 0.0, high: float = 1.0) -> int:
    """Set every FakeQuantize fed by a model input to ``[low, high]``; returns how many.

    NNCF sets the input quantizer's range from the calibration crops (by default the
    *mean* of their per-crop maxima). In a residual denoiser (``x - body(x)``) that
    quantizer also feeds the skip connection, so every pixel brighter than the calibration
    range is clipped at the output: on dark real photos (PolyU) that cost 3-6 dB. The
    input range is known, [0, 1]; with 256 levels it is exact for 8-bit images.
    """
    from openvino import opset13

    n = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "FakeQuantize" or op.input_value(0).get_node().get_type_name() != "Parameter":
            continue
        shape = op.input_value(1).get_node().get_data().shape
        for i, v in ((1, low), (2, high), (3, low), (4, high)):
            op.input(i).replace_source_output(opset13.constant(np.full(shape, v, np.float32)).output(0))
        n += 1
    model.validate_nodes_and_infer_types()
    return n


def _advanced(nncf: Any) -> Any:
    """Activation ranges from the global min/max over the crops (as ONNX Runtime's MinMax), not their mean."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import (AggregatorType, RangeEstimatorParameters,
                                                   StatisticsCollectorParameters, StatisticsType)

    rng = RangeEstimatorParameters(min=StatisticsCollectorParameters(StatisticsType.MIN, AggregatorType.MIN),
                                   max=StatisticsCollectorParameters(StatisticsType.MAX, AggregatorType.MAX))
    return AdvancedQuantizationParameters(activations_range_estimator_params=rng)


def quantize_int8(model: Any, job: ExportJob) -> tuple[Any, dict[str, Any]]:
    """NNCF post-training INT8 (accuracy-controlled when ``job.max_accuracy_drop`` is set).

    Activation ranges are the global min/max over the calibration crops and the input's
    range is pinned to [0, 1] (see ``pin_input_range``). Accuracy control reports each
    validation run through the job's ``log`` callback.
    """
    import nncf

    from pngan.calibration import nncf_dataset

    if job.calibration is None:
        raise PnganError("INT8 needs calibration data")
    calib = nncf_dataset(job.calibration)
    n = job.calibration.samples
    info: dict[str, Any] = {"tool": f"nncf {nncf.__version__}", "preset": "performance (symmetric)",
                            "activation_ranges": "global min/max over the calibration crops",
                            "input_range": [0.0, 1.0]}
    logging.getLogger("nncf").setLevel(logging.ERROR)
    if job.max_accuracy_drop is None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            q = nncf.quantize(model, calib, subset_size=n, advanced_parameters=_advanced(nncf))
        info["method"] = "nncf.quantize"
    else:
        q = _accuracy_control(nncf, model, calib, job)
        info.update(method="nncf.quantize_with_accuracy_control",
                    metric="PSNR dB on calibration pairs" + ("" if job.calibration.has_targets else
                                                             " (no clean targets: vs the input crops)"),
                    max_drop_db=job.max_accuracy_drop)
    info["pinned_input_quantizers"] = pin_input_range(q)
    return q, info


def _accuracy_control(nncf: Any, model: Any, calib: Any, job: ExportJob) -> Any:
    """``nncf.quantize_with_accuracy_control`` with one progress line per validation run."""
    from pngan.calibration import nncf_dataset

    log = job.log or (lambda _m: None)
    runs = [0]

    def validate(compiled_model: Any, pairs: Any) -> float:
        pairs = list(pairs)  # NNCF passes the whole set, or one crop when it ranks layers
        db = psnr_validation(compiled_model, pairs)
        runs[0] += 1
        log(f"  accuracy control: validation {runs[0]}: PSNR {db:.3f} dB on {len(pairs)} crop(s)")
        return db

    log(f"  accuracy control: quantizing, then reverting layers to float until the PSNR drop is "
        f"<= {job.max_accuracy_drop:g} dB")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return nncf.quantize_with_accuracy_control(
            model, calib, nncf_dataset(job.calibration, pairs=True), validation_fn=validate,
            max_drop=job.max_accuracy_drop, drop_type=nncf.DropType.ABSOLUTE, subset_size=job.calibration.samples,
            advanced_quantization_parameters=_advanced(nncf))


def export_openvino(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.xml`` + ``model.bin``; returns manifest fields."""
    import openvino as ov

    from pngan.export.onnx_export import write_fp32_onnx

    onnx_path = job.scratch / "fp32.onnx"
    write_fp32_onnx(net, onnx_path, job)
    model = ov.convert_model(str(onnx_path))
    fields: dict[str, Any] = {"converted_from": "onnx", "weights_file": "model.bin"}
    if job.precision == "int8":
        model, fields["quantization"] = quantize_int8(model, job)
    for k, v in (("model", job.info["model"]), ("precision", job.precision),
                 ("weights_sha256", job.info.get("weights_sha256"))):
        if v is not None:  # read back by pngan parity for a bare model.xml
            model.set_rt_info(str(v), ["pngan", k])
    xml = folder / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=job.precision == "fp16")
    return {"artifact": xml.name, **fields}
