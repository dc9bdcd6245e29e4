"""ONNX FP16 (float32 I/O kept) and INT8 static QDQ per-channel quantization with ONNX Runtime."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from pngan.calibration import CalibrationSource, ort_reader
from pngan.errors import BackendMissingError, PnganError

CALIBRATE_METHOD = "MinMax"


def to_fp16(src: Path, dst: Path) -> dict[str, Any]:
    """Convert weights and activations to float16 with ONNX Runtime's converter; I/O stays float32."""
    import onnx

    try:
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError:
        raise BackendMissingError("onnxruntime", "export") from None
    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    topological_sort(model.graph)  # the converter appends its input Casts after their consumers
    onnx.save(model, str(dst))
    return {"fp16_converter": "onnxruntime.transformers.float16 (keep_io_types=True)"}


def topological_sort(graph: Any) -> None:
    """Reorder ``graph.node`` in place so every node comes after the producers of its inputs."""
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in known for i in n.input)]
        if not ready:
            raise PnganError("ONNX graph has a cycle or an input nobody produces")
        for n in ready:
            known.update(n.output)
        ordered += ready
        done = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in done]
    del graph.node[:]
    graph.node.extend(ordered)


def to_int8(src: Path, dst: Path, calibration: CalibrationSource | None, input_name: str = "input") -> dict[str, Any]:
    """Static INT8 QDQ: per-channel symmetric int8 weights, uint8 activations calibrated on ``calibration``.

    The input's range is pinned to the model's contract [0, 1] (scale 1/255: exact for 8-bit
    images) instead of the calibration crops' range: a residual denoiser passes its input
    through to the output, so a range from darker crops would clip every brighter pixel.
    """
    if calibration is None:
        raise PnganError("INT8 needs calibration data")
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise BackendMissingError("onnxruntime", "export") from None
    pre = dst.with_name(dst.stem + ".pre.onnx")
    logging.getLogger().setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(dst), ort_reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=getattr(CalibrationMethod, CALIBRATE_METHOD),
                        extra_options={"TensorQuantOverrides": {input_name: [{"rmin": np.float32(0.0),
                                                                              "rmax": np.float32(1.0)}]}})
    pre.unlink(missing_ok=True)
    return {"quantization": {"tool": "onnxruntime.quantization.quantize_static", "format": "QDQ",
                             "weights": "int8 per-channel symmetric", "activations": "uint8 asymmetric",
                             "method": CALIBRATE_METHOD, "input_range": [0.0, 1.0]}}
