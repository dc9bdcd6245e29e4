"""TensorRT engine (``model.engine``) built from the exported ONNX as a strongly typed network.

Precision comes from the ONNX, never from builder flags: TensorRT 11 removed the weakly
typed FP16/INT8 flags (deprecated since 10.12) and the implicit INT8 calibrator
(``IInt8EntropyCalibrator2``, ``int8_calibrator``, ``set_calibration_profile``), so one
path serves TensorRT 10 and 11 (``TENSORRT_REQUIREMENT``):

- ``fp32``: the FP32 ONNX, with TF32 switched off (float32 math);
- ``fp16``: ``onnx_quantize.to_fp16``'s ONNX (float16 inside, float32 I/O);
- ``int8``: explicit quantization: ``onnx_quantize.to_int8``'s QDQ ONNX (calibrated there on
  the calibration crops), made TensorRT-ready by ``qdq_for_tensorrt``.

The ONNX the engine is built from is kept beside it as ``source.onnx`` (engines are tied
to one GPU and TensorRT version; rebuild with ``trtexec --onnx=source.onnx --stronglyTyped``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch.nn as nn

from pngan.io.atomic import write_bytes
from pngan.errors import PnganError
from pngan.runtimes.tensorrt_version import require_tensorrt

if TYPE_CHECKING:
    import tensorrt as trt

    from pngan.export.job import ExportJob

ENGINE_FILE = "model.engine"
SOURCE_FILE = "source.onnx"
WORKSPACE_BYTES = 2 << 30


def engine_filename(precision: str) -> str:
    """The engine's file name inside its folder (the folder name carries target and precision)."""
    if precision not in ("fp32", "fp16", "int8"):
        raise PnganError(f"unknown TensorRT precision {precision!r}")
    return ENGINE_FILE


# --- the ONNX TensorRT parses (no TensorRT needed) ----------------------------------------------

def _init(model: Any) -> dict[str, Any]:
    return {i.name: i for i in model.graph.initializer}


def _float_bias(node: Any, inits: dict[str, Any], zp: Any) -> Any:
    """The float initializer an int32 bias ``DequantizeLinear`` computes (named as its output)."""
    from onnx import numpy_helper

    q = numpy_helper.to_array(inits[node.input[0]]).astype(np.float64)
    scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
    z = numpy_helper.to_array(zp).astype(np.float64) if zp is not None else 0.0
    return numpy_helper.from_array(((q - z) * scale).astype(np.float32), node.output[0])


def _symmetric(key: tuple[str, str], scale: Any, zp: Any) -> tuple[tuple[str, ...], list[Any]]:
    """Names and initializers of the int8 (scale, zero point) and Clip (lo, hi) replacing a uint8 quantizer."""
    from onnx import numpy_helper

    s = float(numpy_helper.to_array(scale).reshape(-1)[0])
    z = float(numpy_helper.to_array(zp).reshape(-1)[0])
    if numpy_helper.to_array(zp).size != 1:
        raise PnganError("per-channel uint8 activations cannot be made symmetric for TensorRT")
    lo, hi = s * (0 - z), s * (255 - z)
    names = tuple(f"{k}_trt_s8" for k in key) + tuple(f"{key[0]}_trt_{b}" for b in ("lo", "hi"))
    return names, [numpy_helper.from_array(np.array(max(abs(lo), abs(hi), 1e-12) / 127, np.float32), names[0]),
                   numpy_helper.from_array(np.array(0, np.int8), names[1]),
                   numpy_helper.from_array(np.array(lo, np.float32), names[2]),
                   numpy_helper.from_array(np.array(hi, np.float32), names[3])]


def _clip_before(node: Any, names: tuple[str, ...], index: int) -> Any:
    """The ``Clip(lo, hi)`` node feeding quantizer ``node`` (whose input is rewired to it)."""
    from onnx import helper

    clipped = f"{node.input[0]}_trt_clip_{index}"
    clip = helper.make_node("Clip", [node.input[0], names[2], names[3]], [clipped],
                            name=f"{node.name or 'q'}_trt_clip")
    node.input[0] = clipped
    return clip


def _rewrite_nodes(g: Any, inits: dict[str, Any]) -> tuple[list[Any], list[Any], int, int]:
    """The graph's nodes in TensorRT form, the initializers they add, and the counts of Clips and biases."""
    from onnx import TensorProto

    nodes, new_inits, done, clips, biases = [], [], {}, 0, 0
    for node in g.node:
        zp = inits.get(node.input[2]) if len(node.input) > 2 else None
        if node.op_type == "DequantizeLinear" and node.input[0] in inits \
                and inits[node.input[0]].data_type == TensorProto.INT32:
            new_inits.append(_float_bias(node, inits, zp))
            biases += 1
            continue
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and zp is not None \
                and zp.data_type == TensorProto.UINT8:
            key = (node.input[1], node.input[2])
            if key not in done:
                done[key], added = _symmetric(key, inits[key[0]], zp)
                new_inits += added
            names = done[key]
            if node.op_type == "QuantizeLinear":
                nodes.append(_clip_before(node, names, clips))
                clips += 1
            node.input[1], node.input[2] = names[0], names[1]
        nodes.append(node)
    return nodes, new_inits, clips, biases


def _replace_graph(g: Any, nodes: list[Any], new_inits: list[Any]) -> None:
    """Put ``nodes`` in ``g``, keep the initializers they use, and retype uint8 value infos as int8."""
    from onnx import TensorProto

    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used] + [i for i in new_inits if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    for vi in g.value_info:
        if vi.type.tensor_type.elem_type == TensorProto.UINT8:
            vi.type.tensor_type.elem_type = TensorProto.INT8


def qdq_for_tensorrt(src: Path, dst: Path) -> dict[str, Any]:
    """Rewrite ONNX Runtime's QDQ model into the form TensorRT's explicit quantization takes.

    TensorRT quantizes symmetrically (int8, zero point 0) and wants float biases. Each
    uint8 activation quantizer with range ``[lo, hi] = scale * ([0, 255] - zero_point)``
    becomes ``Clip(lo, hi)`` (the saturation the uint8 quantizer applied, including the
    ReLUs ONNX Runtime folded into it) followed by int8 with scale ``max(|lo|, |hi|) / 127``;
    int32 bias ``DequantizeLinear`` nodes become their float values. A model already in
    this form is copied unchanged.
    """
    import onnx

    model = onnx.load(str(src))
    nodes, new_inits, clips, biases = _rewrite_nodes(model.graph, _init(model))
    _replace_graph(model.graph, nodes, new_inits)
    check_tensorrt_qdq(model)
    onnx.save(model, str(dst))
    return {"tensorrt_qdq": {"activations": "int8 symmetric (scale from the calibrated uint8 range, Clip to "
                                            "that range before each quantizer)",
                             "biases": "float", "clips_inserted": clips, "biases_dequantized": biases}}


def check_tensorrt_qdq(model: Any) -> int:
    """Number of Q/DQ nodes; ``PnganError`` for one TensorRT rejects (non-int8 or non-zero zero point)."""
    from onnx import TensorProto, numpy_helper

    inits, count = _init(model), 0
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        count += 1
        x = inits.get(node.input[0])
        if x is not None and x.data_type not in (TensorProto.INT8, TensorProto.FLOAT):
            kind = TensorProto.DataType.Name(x.data_type)
            raise PnganError(f"{node.name}: TensorRT dequantizes int8 only, got {kind}")
        zp = inits.get(node.input[2]) if len(node.input) > 2 else None
        if zp is not None and (zp.data_type != TensorProto.INT8 or numpy_helper.to_array(zp).any()):
            raise PnganError(f"{node.name}: TensorRT needs int8 zero points equal to 0")
    if not count:
        raise PnganError("the INT8 ONNX has no QuantizeLinear/DequantizeLinear nodes")
    return count


def tensorrt_onnx(net: nn.Module, job: ExportJob) -> tuple[Path, dict[str, Any]]:
    """Write the ONNX the engine is built from into ``job.scratch``; returns its path and manifest fields."""
    from pngan.export import onnx_quantize
    from pngan.export.onnx_export import write_fp32_onnx

    fp32 = job.scratch / "fp32.onnx"
    write_fp32_onnx(net, fp32, job)
    if job.precision == "fp32":
        return fp32, {}
    if job.precision == "fp16":
        dst = job.scratch / "fp16.onnx"
        return dst, onnx_quantize.to_fp16(fp32, dst)
    if job.precision != "int8":
        raise PnganError(f"unknown TensorRT precision {job.precision!r}")
    qdq, dst = job.scratch / "int8.qdq.onnx", job.scratch / "int8.onnx"
    fields = onnx_quantize.to_int8(fp32, qdq, job.calibration)
    return dst, {**fields, **qdq_for_tensorrt(qdq, dst)}


# --- the engine (TensorRT) -----------------------------------------------------------------------

def _parse(network: trt.INetworkDefinition, logger: trt.Logger, onnx_path: Path) -> None:
    import tensorrt as trt

    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise PnganError(f"TensorRT cannot parse the ONNX model: {errs[:300]}")


def build_engine(onnx_path: Path, job: ExportJob) -> tuple[bytes, dict[str, Any]]:
    """Parse ``onnx_path`` into a strongly typed network and build a serialized engine for the profile."""
    from pngan.export.onnx_export import INPUT_NAME

    trt = require_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    _parse(network, logger, onnx_path)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if job.precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)  # float32 math, not TF32 tensor cores
    profile = builder.create_optimization_profile()
    lo, opt, hi = job.shapes.profile()
    profile.set_shape(INPUT_NAME, lo, opt, hi)
    if config.add_optimization_profile(profile) < 0:
        raise PnganError(f"TensorRT rejected the shape profile min {lo}, opt {opt}, max {hi}")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise PnganError("TensorRT failed to build the engine (see the TensorRT log above)")
    return bytes(serialized), {"profile": {"min": list(lo), "opt": list(opt), "max": list(hi)},
                               "network": "strongly typed", "tf32": job.precision != "fp32"}


def export_tensorrt(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.engine`` and the ``source.onnx`` it was built from; returns manifest fields."""
    trt = require_tensorrt()
    onnx_path, fields = tensorrt_onnx(net, job)
    engine, built = build_engine(onnx_path, job)
    path = folder / engine_filename(job.precision)
    write_bytes(folder / SOURCE_FILE, onnx_path.read_bytes())
    write_bytes(path, engine)
    return {"artifact": path.name, "tensorrt_version": trt.__version__, "built_from": SOURCE_FILE,
            "engine_bytes": len(engine), **built, **fields}
