"""ExecuTorch program (``model.pte``) lowered to XNNPACK: FP32, FP16, INT8 (PT2E), dynamic H x W.

``torch.export`` with dynamic height and width (multiples of the network's down-sampling
factor ``size_multiple``, from ``--min-shape`` to ``--max-shape``; the runner pads other
sizes the way the network pads itself) -> ``to_edge_transform_and_lower`` with the
``XnnpackPartitioner`` -> ``to_executorch``. Ops XNNPACK does not take run on ExecuTorch's
portable kernels (listed in the manifest). XNNPACK plans its memory for the upper bound,
so ``--max-shape`` sets the working memory (the table's default 1024 x 1024); larger inputs are tiled by the
runner.

FP16: the network in float16 between a cast of the float32 input and of the output.
INT8: ``pngan.export.pt2e`` with the ``XNNPACKQuantizer`` (per-channel symmetric weights); a graph
ExecuTorch cannot lower at INT8 with dynamic shapes is fixed at the opt shape (``dynamic_fallback``).
The program carries a ``pngan_metadata`` method returning the manifest's core fields as
UTF-8 JSON bytes, so a ``.pte`` says what it holds (model, precision) without its folder.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from pngan.io.atomic import write_bytes
from pngan.errors import BackendMissingError, PnganError
from pngan.export.lowering import operator_error, size_step
from pngan.models.inference import InferenceModel
from pngan.runtimes.quiet import hush_loggers, quiet

if TYPE_CHECKING:
    from pngan.export.job import ExportJob

METADATA_METHOD = "pngan_metadata"
IGNORED_OPS = ("executorch_call_delegate", "getitem", "alloc", "sym_size", "executorch_prim", "view")


def require_executorch() -> None:
    """Raise ``BackendMissingError`` naming the ``executorch`` extra when ExecuTorch/torchao are absent."""
    hush_loggers()
    for mod, pkg in (("executorch.exir", "executorch"), ("executorch.runtime", "executorch"), ("torchao", "torchao")):
        try:
            with quiet():
                __import__(mod)
        except ImportError:
            raise BackendMissingError(pkg, "executorch") from None


class HalfPrecision(nn.Module):
    """float32 in -> the network in float16 -> float32 out (the runner's I/O stays float32)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).half().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.half()).float()


def dynamic_shapes(job: ExportJob, step: int) -> tuple[torch.Tensor, dict[str, Any] | None, dict[str, Any]]:
    """Sample input, ``dynamic_shapes`` for ``torch.export`` and the manifest's shape fields."""
    lo, opt, hi = job.shapes.hw_range()
    opt = tuple(max(step, o // step * step) for o in opt)
    if job.shapes.fixed:
        return torch.rand(1, 3, *job.shapes.fixed), None, {"dynamic_dims": [], "batch": 1}
    lo = tuple(-(-v // step) * step for v in lo)
    hi = tuple(v // step * step for v in hi)
    if lo[0] > hi[0] or lo[1] > hi[1]:
        raise PnganError(f"no H x W in the shape range {lo}..{hi} is a multiple of {step}, which this network needs")
    dims = {}
    for i, name in ((2, "height"), (3, "width")):
        k = torch.export.Dim(f"{name}_{step}", min=max(1, lo[i - 2] // step), max=hi[i - 2] // step)
        dims[i] = k if step == 1 else step * k
    fields = {"dynamic_dims": ["height", "width"], "batch": 1, "size_multiple": step,
              "shape_range": {"min": list(lo), "opt": list(opt), "max": list(hi)}}
    return torch.rand(1, 3, *opt), {"x": dims}, fields


def lower(model: nn.Module, sample: torch.Tensor, shapes: dict[str, Any] | None,
          metadata: dict[str, Any]) -> tuple[bytes, list[str]]:
    """``torch.export`` -> XNNPACK-lowered edge program -> ``.pte`` bytes, and the ops left to portable kernels."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    meta = torch.tensor(list(json.dumps(metadata, sort_keys=True).encode("utf-8")), dtype=torch.uint8)
    try:
        ep = torch.export.export(model, (sample,), dynamic_shapes=shapes)
        edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()],
                                           constant_methods={METADATA_METHOD: meta})
        portable = sorted({_op_name(n.target) for n in edge.exported_program().graph_module.graph.nodes
                           if n.op == "call_function" and not any(s in _op_name(n.target) for s in IGNORED_OPS)})
        program = edge.to_executorch()
    except PnganError:
        raise
    except Exception as e:  # noqa: BLE001 - export/lowering errors are long; keep one line
        raise operator_error(e, "ExecuTorch cannot lower the model") from e
    return bytes(program.buffer), portable


def _op_name(target: Any) -> str:
    name = getattr(target, "__name__", None) or str(target)
    return re.sub(r"^<EdgeOpOverload: |>: schema.*$", "", str(getattr(target, "_name", name)))


def _int8(model: nn.Module, sample: torch.Tensor, shapes: dict[str, Any] | None, job: ExportJob, step: int,
          meta: dict[str, Any]) -> tuple[bytes, list[str], dict[str, Any], dict[str, Any] | None]:
    """PT2E with the XNNPACK quantizer, lowered with dynamic H x W, else at the opt shape.

    ExecuTorch 1.5's XNNPACK passes fail on int8 graphs with dynamic shapes whose activations
    flow into ops left to portable kernels (SMNet's attention and reflect padding:
    ``ChannelsLastTaggedReshapePass``, with every op or only the convolutions quantized). Such a
    model is lowered at the fixed opt shape instead; the runner tiles other sizes. Returns the
    program, its portable ops, the quantization record and the shape fields that replace the
    dynamic ones (``None`` when dynamic worked).
    """
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)

    from pngan.export.pt2e import global_minmax, quantize

    quantizer = XNNPACKQuantizer().set_global(global_minmax(get_symmetric_quantization_config(is_per_channel=True)))
    try:
        qmodel, record = quantize(model, sample, shapes, quantizer, job.calibration, step)
    except PnganError:
        raise
    except Exception as e:  # noqa: BLE001
        raise operator_error(e, "ExecuTorch INT8 quantization failed") from e
    try:
        data, portable = lower(qmodel, sample, shapes, meta)
        return data, portable, record, None
    except PnganError as e:
        if shapes is None or "not supported" in str(e):  # static already, or an operator no kernel takes
            raise
        why = str(e).split(": ", 1)[-1][:160]
    hw = list(sample.shape[2:])
    fixed = {"dynamic_dims": [], "input_shape": [1, 3, *hw], "shape_range": None, "size_multiple": step,
             "dynamic_fallback": f"ExecuTorch could not lower this INT8 graph with dynamic H x W ({why}); "
                                 f"exported at {hw[0]}x{hw[1]}, other sizes are tiled by the runner"}
    data, portable = lower(qmodel, sample, None, {**meta, **fixed})
    return data, portable, record, fixed


def export_executorch(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.pte``; returns manifest fields."""
    require_executorch()
    step = size_step(net)
    sample, shapes, fields = dynamic_shapes(job, step)
    model: nn.Module = InferenceModel(net).eval()
    record = None
    meta = {k: job.info.get(k) for k in ("model", "config", "target", "weights_sha256", "input_sigma")}
    meta.update(precision=job.precision, format="pngan executorch", **fields)
    with quiet():
        if job.precision == "int8":
            data, portable, record, fixed = _int8(model, sample, shapes, job, step, meta)
            fields.update(fixed or {})
        else:
            data, portable = lower(HalfPrecision(model) if job.precision == "fp16" else model, sample, shapes, meta)
    path = folder / "model.pte"
    write_bytes(path, data)
    out: dict[str, Any] = {"artifact": path.name, "backend": "XNNPACK", "program_bytes": len(data),
                           "pte_format": data[4:8].decode("ascii", "replace"), "portable_ops": portable,
                           "metadata_method": METADATA_METHOD, **fields}
    if record:
        out["quantization"] = record
    if job.precision == "fp16":
        out["compute"] = ("float16 inside (XNNPACK; its serializer stores convolution weights as float32), "
                          "float32 input and output")
    return out
