"""Core ML ``model.mlpackage`` (ML Program): FP32/FP16 compute precision, INT8 linear weight quantization.

Converted from ``torch.jit.trace(InferenceModel(net))`` with flexible H x W as range
dimensions (batch 1). Prediction needs macOS; elsewhere the package is converted, saved
and its spec checked.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.errors import BackendMissingError, PnganError, first_line
from pngan.models.inference import InferenceModel

if TYPE_CHECKING:
    from pngan.export.job import ExportJob

DEPLOYMENT_TARGET = "iOS16"
INT8_WEIGHT_THRESHOLD = 256  # quantize weight tensors with at least this many elements (coremltools default: 2048)  # ML Program + int8 weight quantization need iOS 16 / macOS 13


def require_coreml() -> None:
    """Raise ``BackendMissingError`` naming the ``coreml`` extra when coremltools is absent."""
    quiet = logging.getLogger("coremltools")
    if quiet.level == logging.NOTSET:  # off macOS it logs 'Failed to load _MLModelProxy' on import
        quiet.setLevel(logging.ERROR)
    try:
        import coremltools  # noqa: F401
    except ImportError:
        raise BackendMissingError("coremltools", "coreml") from None


def input_type(job: ExportJob) -> Any:
    """The ``ct.TensorType`` of the input: fixed, or range dims over ``[min, max]`` defaulting to opt."""
    import coremltools as ct

    lo, opt, hi = job.shapes.hw_range()
    if job.shapes.fixed:
        shape: Any = (1, 3, *job.shapes.fixed)
    else:
        shape = ct.Shape((1, 3, ct.RangeDim(lo[0], hi[0], opt[0], "height"), ct.RangeDim(lo[1], hi[1], opt[1], "width")))
    return ct.TensorType(name="input", shape=shape, dtype=np.float32)


def _replicate_pad_by_gather(orig: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``F.pad`` whose replicate mode on NCHW tensors is a gather with clamped indices.

    Core ML converts shape-dependent padding only for one dimension; the models'
    pad-to-stride pads H and W by amounts computed from the input size. Gathering
    rows/columns at ``clamp(arange(n + before + after) - before, 0, n - 1)`` is the same
    replicate padding, expressed with ops Core ML handles for flexible shapes.
    """

    def pad(x: torch.Tensor, p: Any, mode: str = "constant", value: float | None = None) -> torch.Tensor:
        if mode != "replicate" or x.dim() != 4 or len(p) != 4:
            return orig(x, p, mode=mode, value=value)
        for dim, (before, after) in ((3, p[0:2]), (2, p[2:4])):
            n = x.shape[dim]
            idx = (torch.arange(n + before + after) - before).clamp(0, n - 1)
            x = x.index_select(dim, idx)
        return x

    return pad


@contextlib.contextmanager
def coreml_friendly_padding() -> Iterator[None]:
    """Patch ``torch.nn.functional.pad`` while tracing (model-agnostic; numerics unchanged)."""
    orig = F.pad
    F.pad = _replicate_pad_by_gather(orig)
    try:
        yield
    finally:
        F.pad = orig


def convert(net: nn.Module, job: ExportJob) -> Any:
    """Trace and convert to an ML Program at the job's compute precision (FP16 for ``fp16``)."""
    import coremltools as ct

    model = InferenceModel(net).eval()
    hw = job.shapes.calib_hw
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        with coreml_friendly_padding():
            traced = torch.jit.trace(model, torch.rand(1, 3, *hw), check_trace=False)
        precision = ct.precision.FLOAT16 if job.precision == "fp16" else ct.precision.FLOAT32
        try:
            ml = ct.convert(traced, inputs=[input_type(job)], outputs=[ct.TensorType(name="output", dtype=np.float32)],
                            convert_to="mlprogram", compute_precision=precision,
                            minimum_deployment_target=getattr(ct.target, DEPLOYMENT_TARGET))
        except Exception as e:
            raise PnganError(f"Core ML conversion failed: {first_line(e, 300)}") from e
        if job.precision == "int8":
            import coremltools.optimize as cto

            cfg = cto.coreml.OptimizationConfig(
                global_config=cto.coreml.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8",
                                                                 granularity="per_channel",
                                                                 weight_threshold=INT8_WEIGHT_THRESHOLD))
            ml = cto.coreml.linear_quantize_weights(ml, config=cfg)
    return ml


def op_types(spec: Any) -> list[str]:
    """Sorted distinct op types of the ``main`` function of an ML Program spec."""
    ops: set[str] = set()
    for fn in spec.mlProgram.functions.values():
        for block in fn.block_specializations.values():
            ops.update(op.type for op in block.operations)
    return sorted(ops)


def export_coreml(net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
    """Write ``folder/model.mlpackage``; returns manifest fields."""
    ml = convert(net, job)
    ml.short_description = f"pngan {job.info['model']} denoiser ({job.precision}); RGB float32 NCHW in [0, 1]"
    ml.user_defined_metadata.update({"model": str(job.info["model"]), "precision": job.precision})
    path = folder / "model.mlpackage"
    ml.save(str(path))
    fields: dict[str, Any] = {"artifact": path.name, "coreml_format": "mlprogram",
                              "minimum_deployment_target": DEPLOYMENT_TARGET,
                              "compute_precision": "float16" if job.precision == "fp16" else "float32",
                              "ops": op_types(ml.get_spec()), "batch": 1,
                              "dynamic_dims": [] if job.shapes.fixed else ["height", "width"]}
    if job.precision == "int8":
        fields["quantization"] = {"tool": "coremltools.optimize.coreml.linear_quantize_weights",
                                  "weights": "int8 linear symmetric per-channel", "activations": "float32"}
    return fields
