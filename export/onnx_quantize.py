"""ONNX FP16 (float32 I/O kept) and INT8 static QDQ per-channel quantization with ONNX Runtime."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from pngan.calibration import ort_reader
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


def pre_process(src: Path, dst: Path) -> Path:
    """ONNX Runtime's quantization pre-processing (shape inference, graph optimization) of ``src`` into ``dst``."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise BackendMissingError("onnxruntime", "export") from None
    logging.getLogger().setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    return dst


def to_int8(src: Path, dst: Path, calibration: Any, input_name: str = "input",
            nodes_to_exclude: list[str] | None = None, pre: Path | None = None) -> dict[str, Any]:
    """Static INT8 QDQ: per-channel symmetric int8 weights, uint8 activations calibrated on ``calibration``.

    The input's range is pinned to the model's contract [0, 1] (scale 1/255: exact for 8-bit
    images) instead of the calibration crops' range: a residual denoiser passes its input
    through to the output, so a range from darker crops would clip every brighter pixel.
    ``nodes_to_exclude`` stay in float; ``pre``: ``src`` already pre-processed there (kept).
    """
    if calibration is None:
        raise PnganError("INT8 needs calibration data")
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    except ImportError:
        raise BackendMissingError("onnxruntime", "export") from None
    own = pre is None
    pre = pre or pre_process(src, dst.with_name(dst.stem + ".pre.onnx"))
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_static(str(pre), str(dst), ort_reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=getattr(CalibrationMethod, CALIBRATE_METHOD),
                        nodes_to_exclude=list(nodes_to_exclude or []),
                        extra_options={"TensorQuantOverrides": {input_name: [{"rmin": np.float32(0.0),
                                                                              "rmax": np.float32(1.0)}]}})
    if own:
        pre.unlink(missing_ok=True)
    return {"quantization": _record()}


def _record() -> dict[str, Any]:
    return {"tool": "onnxruntime.quantization.quantize_static", "format": "QDQ",
            "weights": "int8 per-channel symmetric", "activations": "uint8 asymmetric",
            "method": CALIBRATE_METHOD, "input_range": [0.0, 1.0]}


def _activation_qdq(model: Any) -> dict[str, list[tuple[int, str]]]:
    """``{node name: [(input index, the tensor before its Quantize/Dequantize pair)]}`` of a QDQ model."""
    prod = {o: n for n in model.graph.node for o in n.output}
    out: dict[str, list[tuple[int, str]]] = {}
    for n in model.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for i, name in enumerate(n.input):
            dq = prod.get(name)
            q = prod.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is not None and q.op_type == "QuantizeLinear":
                out.setdefault(n.name, []).append((i, q.input[0]))
    return out


def qdq_layers(path: Path) -> list[str]:
    """Names of the nodes of a QDQ model whose inputs are quantized activations (what ``nodes_to_exclude`` takes)."""
    import onnx

    from pngan.export.mixed import SHAPE_OPS

    model = onnx.load(str(path))
    kinds = {n.name: n.op_type for n in model.graph.node}
    return [name for name in _activation_qdq(model) if kinds[name] not in SHAPE_OPS]


def relu_outputs(path: Path) -> set[str]:
    """Tensors a ``Relu`` produces in the float model at ``path``.

    The quantizer folds such a Relu into the uint8 quantizer after it (zero point 0 clips at 0): bypassing
    that quantizer must put the Relu back.
    """
    import onnx

    return {o for n in onnx.load(str(path)).graph.node if n.op_type == "Relu" for o in n.output}


def bypass_qdq(path: Path, layers: list[str], relus: set[str] = frozenset()) -> bytes:
    """The QDQ model at ``path`` with nodes ``layers`` reading their activations unquantized, serialized.

    ``relus``: tensors of the float model made by a Relu (``relu_outputs``) that the QDQ model no longer computes.
    """
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    names, qdq = set(layers), _activation_qdq(model)
    made_by_relu = {o for n in model.graph.node if n.op_type == "Relu" for o in n.output}
    added: dict[str, str] = {}
    for node in model.graph.node:
        if node.name in names:
            for i, src in qdq.get(node.name, []):
                if src in relus and src not in made_by_relu:  # its Relu was folded into the quantizer
                    if src not in added:
                        added[src] = f"{src}_bypass_relu"
                    src = added[src]
                node.input[i] = src
    for src, out in added.items():
        model.graph.node.append(helper.make_node("Relu", [src], [out], name=f"bypass_relu_{src}"))
    topological_sort(model.graph)
    return model.SerializeToString()


def mixed_int8(src: Path, dst: Path, job: Any, net: Any) -> dict[str, Any]:
    """``to_int8`` keeping in float the fewest nodes that meet ``job.max_drop`` (``pngan.export.mixed``)."""
    import shutil

    import onnxruntime as ort

    from pngan.export.mixed import search_for_job

    pre = pre_process(src, job.scratch / "mixed.pre.onnx")
    relus, counter = relu_outputs(pre), [0]

    def runner(model: Path | bytes) -> Any:
        sess = ort.InferenceSession(model if isinstance(model, bytes) else str(model),
                                    providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda x: sess.run(None, {name: x})[0]

    def build(float_layers: list[str]) -> tuple[Path, Any]:
        counter[0] += 1
        path = job.scratch / f"mixed-{counter[0]}.onnx"
        to_int8(src, path, job.calibration, nodes_to_exclude=float_layers, pre=pre)
        return path, runner(path)

    best, record = search_for_job(net, job, qdq_layers, build,
                                  lambda path, layers: runner(bypass_qdq(path, layers, relus)))
    shutil.copyfile(best, dst)
    return {"quantization": {**_record(), "mixed": record}}
