"""``export(model, target, ...)``: the one entry point: plan (``pngan.export.plan``), then write."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import torch.nn as nn

from pngan.io.atomic import atomic_dir, make_dir, write_error
from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.errors import PnganError, PnganWarning
from pngan.export.plan import (MIXED_TARGETS, Budget, CalibrationNote, ExportPlan, artifact_dirname, calibrate,
                               calibration_for, model_kind, plan_export, tiling_record)
from pngan.export.shapes import ShapeSpec
from pngan.export.targets import TARGETS, Target, available
from pngan.export.validate import fix_hint, validate_artifact, validation_images
from pngan.models.inputs import input_sigma
from pngan.runtimes import formats
from pngan.runtimes.artifacts import artifact_size
from pngan.runtimes.formats import PRECISIONS
from pngan.runtimes.manifest import write_manifest
from pngan.runtimes.quiet import hush_loggers

hush_loggers()  # torchao and torch log warnings on import (coremltools and the PT2E targets import them)

__all__ = ["PRECISIONS", "TARGETS", "Budget", "CalibrationNote", "ExportPlan", "Target", "ValidationFailed",
           "artifact_dirname", "available", "calibration_for", "export", "export_all", "export_targets",
           "plan_export", "tiling_record", "write_export"]


class ValidationFailed(PnganWarning):
    """An exported artifact failed its validation against torch (the artifact is kept)."""


def _validate(plan: ExportPlan, staging: Path) -> dict[str, Any]:
    """Run the staged artifact against torch; a failure's record names the fix (INT8)."""
    if plan.generator:
        images, source = validation_images(True, plan.calibration, input_sigma(plan.net), plan.seed)
        record = validate_artifact(staging, plan.net, generator=True, images=images, source=source)
    else:
        record = validate_artifact(staging, plan.net, generator=False, val_sets=plan.val_sets,
                                   max_drop=plan.max_drop, allow_drop=plan.allow_drop)
    if record["status"] == "fail":
        record["fix"] = fix_hint(plan.target.name) if plan.precision == "int8" else None
    return record


def _write_artifact(plan: ExportPlan, staging: Path, scratch: Path) -> dict[str, Any] | None:
    """The target's files and the manifest in ``staging``; returns the validation record (``None``: not asked)."""
    fields = plan.target.fn(plan.net.eval(), staging, plan.job(scratch))
    manifest = {**plan.info, **fields, "weights": str(plan.weights) if plan.weights else None,
                "calibration": plan.calibration.summary() if plan.calibration else None, "versions": plan.versions}
    write_manifest(staging, manifest)
    seconds = time.perf_counter() - plan.started
    manifest.update(export_seconds=round(seconds, 2), size_bytes=artifact_size(staging))
    record = None
    if plan.validate:
        record = manifest["validation"] = _validate(plan, staging)
    write_manifest(staging, manifest)
    return record


def write_export(plan: ExportPlan, *, stacklevel: int = 2) -> Path:
    """Write ``plan.folder`` through a staging folder renamed at the end; returns it.

    A failed validation keeps the artifact and warns ``ValidationFailed`` (at ``stacklevel``).
    """
    out, final = plan.folder.parent, plan.folder
    make_dir(out)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.scratch.", dir=out))
    except OSError as e:
        raise write_error(out, e) from None
    if plan.log:
        plan.log(f"exporting {final.name} ...")
    try:
        with atomic_dir(final) as staging:
            record = _write_artifact(plan, staging, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if record is not None and record["status"] == "fail":
        hint = f"; try {record['fix']}" if record.get("fix") else ""
        warnings.warn(f"{final.name} failed validation ({record['failed_because']}){hint}; the artifact is kept "
                      f"at {final}", ValidationFailed, stacklevel=stacklevel)
    return final


def export(net: nn.Module, target: str, out: str | os.PathLike, *, precision: str = "fp32",
           weights: str | os.PathLike | None = None, force: bool = False,
           calib_dir: Any = None, calib_samples: int = DEFAULT_SAMPLES,
           calib_noise: str | bool = "auto", seed: int = 0, budget: Budget | None = None,
           shapes: ShapeSpec | None = None, validate: bool = True, log: Callable[[str], None] | None = None,
           calibration: Any = None, val_sets: Any = None) -> Path | list[Path]:
    """Export ``net`` (built by the registry) to ``out/<target>-<precision>/`` with a manifest.

    ``target="all"`` exports every target available here (``export_all``; skipped ones are
    warned about) and returns the list of folders. The folder is built in a temp folder
    beside it and renamed at the end, so a failure leaves nothing half-written, and an
    existing folder is kept unless ``force``. INT8 calibrates on random crops at the export
    resolution (``calibration_for``: a folder of noisy photos as it is, synthetic noise only
    when ``calib_noise`` asks or the data are clean; ``calib_dir`` may list several folders);
    without ``calib_dir`` the shipped samples are used with a ``CalibrationNote`` warning.
    Unless ``validate=False`` the artifact is run against torch (``pngan.export.validate``): a
    denoiser on validation pairs it was not calibrated on (``budget.val_pairs``, default the
    shipped samples at three noise levels), each folder's denoised-PSNR drop within
    ``budget.max_drop``; ``budget.mixed`` keeps the fewest layers in float that meet it. The
    record is the manifest's ``validation`` and a failure is a ``ValidationFailed`` warning.
    ``log`` receives progress lines.
    """
    opts = dict(precision=precision, weights=weights, force=force, calib_dir=calib_dir, calib_samples=calib_samples,
                calib_noise=calib_noise, seed=seed, budget=budget, shapes=shapes, validate=validate, log=log,
                calibration=calibration, val_sets=val_sets)
    if target == "all":
        written, skipped = export_all(net, out, **opts)
        for name, why in skipped.items():
            warnings.warn(f"skipped {name}: {why}", PnganWarning, stacklevel=2)
        return written
    plan = plan_export(net, target, out, **opts, stacklevel=3)  # warnings point at export's caller
    return write_export(plan, stacklevel=3)


def shared_inputs(net: nn.Module, targets: Sequence[str], kw: dict[str, Any]) -> dict[str, Any]:
    """``kw`` with what every target of one run reads alike read once: a denoiser's validation pairs and, when
    one of ``targets`` calibrates INT8, the calibration data. One target reads them in ``plan_export``, after
    its own checks (an existing folder fails before any data are read)."""
    from pngan.runtimes.val_sets import val_sets_for

    if len(targets) < 2:
        return kw
    kw, budget = dict(kw), kw.get("budget") or Budget()
    _, generator = model_kind(net)
    if not generator and kw.get("val_sets") is None and (kw.get("validate", True) or budget.mixed):
        kw["val_sets"] = val_sets_for(budget.val_pairs, kw.get("seed", 0))
    calibrates = any(TARGETS[formats.get(t).name].calibrates for t in targets)
    if kw.get("precision", "fp32") == "int8" and calibrates and kw.get("calibration") is None:
        kw["calibration"] = calibrate(net, kw.get("calib_dir"), samples=kw.get("calib_samples", DEFAULT_SAMPLES),
                                      noise=kw.get("calib_noise", "auto"), seed=kw.get("seed", 0),
                                      shapes=kw.get("shapes"), log=kw.get("log"), val_sets=kw.get("val_sets"),
                                      stacklevel=4)
    return kw


def export_targets(net: nn.Module, targets: Sequence[str], out: str | os.PathLike, **kw: Any) -> list[Path]:
    """``export`` to each of ``targets``, the calibration data and validation pairs read once (``shared_inputs``)."""
    kw = shared_inputs(net, targets, kw)
    return [export(net, target, out, **kw) for target in targets]


def export_all(net: nn.Module, out: str | os.PathLike, **kw: Any) -> tuple[list[Path], dict[str, str]]:
    """Export every target available here; returns the folders written and ``{target: why skipped}``.

    The calibration data and validation pairs are read once and shared (``export_targets``).
    """
    precision = kw.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise PnganError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    budget = kw.get("budget") or Budget()
    if budget.mixed and precision != "int8":
        raise PnganError("--mixed applies to --precision int8")
    targets, skipped = [], {}
    for target in TARGETS:
        why = available(target, precision)
        if why is None and budget.mixed and target not in MIXED_TARGETS:
            why = "--mixed: keeps no layers in float on this target"
        if why:
            skipped[target] = why
        else:
            targets.append(target)
    return export_targets(net, targets, out, **kw), skipped
