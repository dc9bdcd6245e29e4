"""``export(model, target, ...)``: the one entry point, with a table of formats."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from pngan.calibration import CalibrationSource
from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.atomic import atomic_dir, make_dir, write_error
from pngan.errors import BackendMissingError, PnganError, PnganWarning
from pngan.export.coreml_export import export_coreml, require_coreml
from pngan.export.job import ExportJob
from pngan.export.manifest import tool_versions, write_manifest
from pngan.export.onnx_export import export_onnx, require_onnx
from pngan.export.openvino_export import export_openvino, require_openvino
from pngan.export.shapes import ShapeSpec
from pngan.export.tensorrt_export import export_tensorrt, require_tensorrt
from pngan.generate import input_sigma
from pngan.models import spec
from pngan.models.weights import sha256

ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript", "onnxslim")


@dataclass(frozen=True)
class Target:
    """One export format: its function, precisions, availability check, the packages its versions come from."""

    name: str
    fn: Callable[[nn.Module, Path, ExportJob], dict[str, Any]]
    precisions: tuple[str, ...]
    check: Callable[[], None]
    packages: tuple[str, ...]
    calibrates: bool = True  # INT8 needs activation calibration data (Core ML's is weight-only)


TARGETS: dict[str, Target] = {
    "onnx": Target("onnx", export_onnx, ("fp32", "fp16", "int8"), require_onnx, ONNX_PACKAGES),
    "openvino": Target("openvino", export_openvino, ("fp32", "fp16", "int8"), require_openvino,
                       ("openvino", "nncf", *ONNX_PACKAGES)),
    "coreml": Target("coreml", export_coreml, ("fp32", "fp16", "int8"), require_coreml, ("coremltools",),
                     calibrates=False),
    "tensorrt": Target("tensorrt", export_tensorrt, ("fp32", "fp16", "int8"), require_tensorrt,
                       ("tensorrt", *ONNX_PACKAGES)),
}
PRECISIONS = ("fp32", "fp16", "int8")


class CalibrationNote(PnganWarning):
    """INT8 without ``--calib-dir``: the shipped samples are used."""


def artifact_dirname(target: str, precision: str) -> str:
    """Folder name of one artifact, e.g. ``onnx-fp32``."""
    return f"{target}-{precision}"


def _check_target(target: str, precision: str) -> Target:
    if target not in TARGETS:
        raise PnganError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}, all")
    t = TARGETS[target]
    if precision not in t.precisions:
        raise PnganError(f"target {target!r} supports precision {', '.join(t.precisions)}, not {precision!r}")
    return t


def export(net: nn.Module, target: str, out: str | os.PathLike, *, precision: str = "fp32",
           weights: str | os.PathLike | None = None, force: bool = False,
           calib_dir: str | os.PathLike | None = None, calib_samples: int = DEFAULT_SAMPLES,
           calib_noise: bool = True, seed: int = 0, max_accuracy_drop: float | None = None,
           shapes: ShapeSpec | None = None) -> Path:
    """Export ``net`` (built by the registry) to ``out/<target>-<precision>/`` with a manifest.

    The folder is built in a temp folder beside it and renamed at the end, so a
    failure leaves nothing half-written, and an existing folder is kept unless ``force``.
    INT8 calibrates on random crops of ``calib_dir`` at the export resolution (noisy,
    unless ``calib_noise=False``); without ``calib_dir`` it uses the shipped sample
    images and says so with a ``CalibrationNote`` warning.
    """
    t = _check_target(target, precision)
    if max_accuracy_drop is not None:
        if precision != "int8" or target != "openvino":
            raise PnganError("--max-accuracy-drop applies to --target openvino --precision int8 only")
        if not max_accuracy_drop > 0:
            raise PnganError(f"--max-accuracy-drop must be > 0 dB, got {max_accuracy_drop}")
    t.check()
    shapes = shapes or ShapeSpec()
    out = Path(out)
    final = out / artifact_dirname(target, precision)
    if final.exists() and not force:
        raise PnganError(f"{final} exists; pass --force to replace it")
    name = getattr(net, "pngan_name", None)
    if name is None:
        raise PnganError("export needs a model built by pngan.models.build")
    calibration = None
    if precision == "int8" and t.calibrates:
        calibration = CalibrationSource(calib_dir, calib_samples, shapes.calib_hw, calib_noise, seed)
        calibration.pairs  # read and crop now: a bad folder fails before anything is written
        if calib_dir is None:
            warnings.warn(f"no --calib-dir: calibrating INT8 on the shipped sample images "
                          f"({calib_samples} noisy crops); pass --calib-dir for data like yours",
                          CalibrationNote, stacklevel=2)
    info = {"model": name, "config": getattr(net, "pngan_config", {}), "input_range": [0.0, 1.0],
            "layout": "NCHW RGB float32", "dynamic_dims": shapes.dynamic_dims,
            "weights_sha256": sha256(weights) if weights else None, "target": target, "precision": precision,
            **shapes.summary()}
    if spec(name).kind == "generator":  # its input is clean + input_sigma/255 * N(0, 1): needed to deploy it
        info["input_sigma"] = input_sigma(net)
    versions = tool_versions(*t.packages)
    make_dir(out)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.scratch.", dir=out))
    except OSError as e:
        raise write_error(out, e) from None
    try:
        with atomic_dir(final) as staging:
            job = ExportJob(precision, shapes, calibration, max_accuracy_drop, {**info, "versions": versions},
                            scratch)
            fields = t.fn(net.eval(), staging, job)
            write_manifest(staging, {**info, **fields, "weights": str(weights) if weights else None,
                                     "calibration": calibration.summary() if calibration else None,
                                     "versions": versions})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def available(target: str, precision: str) -> str | None:
    """Why ``target`` at ``precision`` cannot be exported here, or ``None`` if it can."""
    t = TARGETS[target]
    if precision not in t.precisions:
        return f"no {precision} (supports {', '.join(t.precisions)})"
    try:
        t.check()
    except BackendMissingError as e:
        return str(e)
    return None


def export_all(net: nn.Module, out: str | os.PathLike, **kw: Any) -> tuple[list[Path], dict[str, str]]:
    """Export every target available here; returns the folders written and ``{target: why skipped}``."""
    precision = kw.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise PnganError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if kw.get("max_accuracy_drop") is not None and precision != "int8":
        raise PnganError("--max-accuracy-drop applies to --precision int8 only")
    written, skipped = [], {}
    for target in TARGETS:
        why = available(target, precision)
        if why:
            skipped[target] = why
            continue
        opts = dict(kw)
        if target != "openvino":
            opts.pop("max_accuracy_drop", None)
        written.append(export(net, target, out, **opts))
    return written, skipped
