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


def quantize_int8(model: Any, job: ExportJob) -> tuple[Any, dict[str, Any]]:
    """NNCF post-training INT8 (accuracy-controlled when ``job.max_accuracy_drop`` is set)."""
    import nncf

    from pngan.calibration import nncf_dataset

    if job.calibration is None:
        raise PnganError("INT8 needs calibration data")
    calib = nncf_dataset(job.calibration)
    n = job.calibration.samples
    info: dict[str, Any] = {"tool": f"nncf {nncf.__version__}", "preset": "performance (symmetric)"}
    logging.getLogger("nncf").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if job.max_accuracy_drop is None:
            q = nncf.quantize(model, calib, subset_size=n)
            info["method"] = "nncf.quantize"
        else:
            q = nncf.quantize_with_accuracy_control(
                model, calib, nncf_dataset(job.calibration, pairs=True), validation_fn=psnr_validation,
                max_drop=job.max_accuracy_drop, drop_type=nncf.DropType.ABSOLUTE, subset_size=n)
            info.update(method="nncf.quantize_with_accuracy_control", metric="PSNR dB on calibration pairs",
                        max_drop_db=job.max_accuracy_drop)
    return q, info


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
    for k, v in (("model", job.info["model"]), ("precision", job.precision)):
        model.set_rt_info(str(v), ["pngan", k])
    xml = folder / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=job.precision == "fp16")
    return {"artifact": xml.name, **fields}
