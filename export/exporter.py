"""``export(model, target, ...)``: the one entry point, with a table of formats."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from pngan.io.atomic import atomic_dir, make_dir, write_error
from pngan.calibration import CalibrationSource
from pngan.calibration.policy import choose_calibration
from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.errors import BackendMissingError, PnganError, PnganWarning
from pngan.export.job import ExportJob
from pngan.export.shapes import DEFAULT_MAX, ShapeSpec
from pngan.export.validate import fix_hint, validate_artifact, validation_images
from pngan.models.inputs import input_sigma
from pngan.models.smnet_noise import takes_noise
from pngan.models import spec
from pngan.models.weights import sha256
from pngan.runtimes import formats
from pngan.runtimes.artifacts import artifact_size
from pngan.runtimes.formats import PRECISIONS, Format
from pngan.runtimes.manifest import tool_versions, write_manifest
from pngan.runtimes.quiet import hush_loggers

hush_loggers()  # torchao and torch log warnings on import (coremltools and the PT2E targets import them)


@dataclass(frozen=True)
class Target:
    """One export format as the exporter uses it: its row of ``pngan.runtimes.formats``, functions imported on use."""

    fmt: Format

    @property
    def name(self) -> str:
        return self.fmt.name

    @property
    def precisions(self) -> tuple[str, ...]:
        return self.fmt.precisions

    @property
    def packages(self) -> tuple[str, ...]:
        return self.fmt.packages

    @property
    def calibrates(self) -> bool:
        return self.fmt.calibrates

    def fn(self, net: nn.Module, folder: Path, job: ExportJob) -> dict[str, Any]:
        return formats.load(self.fmt.exporter)(net, folder, job)

    def check(self) -> None:
        formats.load(self.fmt.require)()


TARGETS: dict[str, Target] = {name: Target(f) for name, f in formats.FORMATS.items()}


class CalibrationNote(PnganWarning):
    """INT8 without ``--calib-dir``: the shipped samples are used."""


class ValidationFailed(PnganWarning):
    """An exported artifact failed its validation against torch (the artifact is kept)."""


@dataclass
class _Job(ExportJob):
    log: Callable[[str], None] | None = None  # progress lines (accuracy control)


def artifact_dirname(target: str, precision: str) -> str:
    """Folder name of one artifact, e.g. ``onnx-fp32``."""
    return f"{target}-{precision}"


def _check_target(target: str, precision: str) -> Target:
    t = TARGETS[formats.get(target).name]
    if precision not in t.precisions:
        raise PnganError(f"target {target!r} supports precision {', '.join(t.precisions)}, not {precision!r}")
    return t


def calibration_for(net: nn.Module, calib_dir: str | os.PathLike | None, *, samples: int = DEFAULT_SAMPLES,
                    noise: str | bool = "auto", seed: int = 0, shapes: ShapeSpec | None = None) -> CalibrationSource:
    """The calibration data an INT8 export of ``net`` uses (see ``pngan.calibration.policy``), read and checked."""
    if isinstance(noise, bool):
        noise = "poisson-gaussian" if noise else "none"
    generator = spec(net.pngan_name).kind == "generator"
    src = choose_calibration(calib_dir, generator=generator, noise=noise, input_sigma=input_sigma(net),
                             samples=samples, crop=(shapes or ShapeSpec()).calib_hw, seed=seed)
    src.pairs  # read and crop now: a bad folder fails before anything is written
    return src


def _weights_file(weights: str | os.PathLike) -> Path:
    """The file ``weights`` names (a shipped name such as ``dncnn_poisson-gaussian`` included); one line if none."""
    from pngan.weights import names, resolve

    path = resolve(weights)
    if not path.is_file():
        raise PnganError(f"weights {weights}: no such file nor shipped weights name (shipped: {', '.join(names())})")
    return path


def export(net: nn.Module, target: str, out: str | os.PathLike, *, precision: str = "fp32",
           weights: str | os.PathLike | None = None, force: bool = False,
           calib_dir: str | os.PathLike | None = None, calib_samples: int = DEFAULT_SAMPLES,
           calib_noise: str | bool = "auto", seed: int = 0, max_accuracy_drop: float | None = None,
           shapes: ShapeSpec | None = None, validate: bool = True, log: Callable[[str], None] | None = None,
           calibration: CalibrationSource | None = None) -> Path | list[Path]:
    """Export ``net`` (built by the registry) to ``out/<target>-<precision>/`` with a manifest.

    ``target="all"`` exports every target available here (``export_all``; skipped ones are
    warned about) and returns the list of folders. The folder is built in a temp folder
    beside it and renamed at the end, so a failure leaves nothing half-written, and an
    existing folder is kept unless ``force``. INT8 calibrates on random crops at the export
    resolution (``calibration_for``: a folder of noisy photos as it is, synthetic noise only
    when ``calib_noise`` asks or the data are clean); without ``calib_dir`` the shipped
    samples are used with a ``CalibrationNote`` warning. Unless ``validate=False`` the
    artifact is run on a few images against torch (``pngan.export.validate``); the record is
    the manifest's ``validation`` and a failure is a ``ValidationFailed`` warning.
    ``log`` receives progress lines.
    """
    if target == "all":
        written, skipped = export_all(net, out, precision=precision, weights=weights, force=force,
                                      calib_dir=calib_dir, calib_samples=calib_samples, calib_noise=calib_noise,
                                      seed=seed, max_accuracy_drop=max_accuracy_drop, shapes=shapes,
                                      validate=validate, log=log, calibration=calibration)
        for name, why in skipped.items():
            warnings.warn(f"skipped {name}: {why}", PnganWarning, stacklevel=2)
        return written
    t0 = time.perf_counter()
    t = _check_target(target, precision)
    if weights is not None:
        weights = _weights_file(weights)
    if max_accuracy_drop is not None:
        if precision != "int8" or target != "openvino":
            raise PnganError("--max-accuracy-drop applies to --target openvino --precision int8 only")
        if not max_accuracy_drop > 0:
            raise PnganError(f"--max-accuracy-drop must be > 0 dB, got {max_accuracy_drop}")
    t.check()
    shapes = shapes or ShapeSpec()
    if shapes.max_hw is None and shapes.fixed is None:  # the target's default upper bound
        shapes = dataclasses.replace(shapes, max_hw=shapes.hw_range(t.fmt.default_max or DEFAULT_MAX)[2])
    out = Path(out)
    final = out / artifact_dirname(target, precision)
    if final.exists() and not force:
        raise PnganError(f"{final} exists; pass --force to replace it")
    name = getattr(net, "pngan_name", None)
    if name is None:
        raise PnganError("export needs a model built by pngan.models.build")
    generator = spec(name).kind == "generator"
    if generator and takes_noise(net):
        raise PnganError(f"{name} is given its noise as a second input, and pngan-export takes one-input models; "
                         f"sample it in PyTorch (`pngan generate --weights ...`)")
    if precision == "int8" and t.calibrates and calibration is None:
        calibration = calibration_for(net, calib_dir, samples=calib_samples, noise=calib_noise, seed=seed,
                                      shapes=shapes)
        if log:
            log(f"calibration: {calibration.describe()}")
        if calib_dir is None:
            warnings.warn(f"no --calib-dir: calibrating INT8 on the shipped sample images "
                          f"({calib_samples} crops); pass --calib-dir for data like yours",
                          CalibrationNote, stacklevel=2)
    if not (precision == "int8" and t.calibrates):
        calibration = None
    info = {"model": name, "config": getattr(net, "pngan_config", {}), "input_range": [0.0, 1.0],
            "layout": "NCHW RGB float32", "dynamic_dims": shapes.dynamic_dims,
            "weights_sha256": sha256(weights) if weights else None, "target": target, "precision": precision,
            **shapes.summary(t.fmt.shapes)}
    if generator:  # its input is clean + input_sigma/255 * N(0, 1): needed to deploy it
        info["input_sigma"] = input_sigma(net)
    info["tiling"] = tiling_record(net)
    versions = tool_versions(*t.packages)
    make_dir(out)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.scratch.", dir=out))
    except OSError as e:
        raise write_error(out, e) from None
    record = None
    if log:
        log(f"exporting {final.name} ...")
    try:
        with atomic_dir(final) as staging:
            job = _Job(precision, shapes, calibration, max_accuracy_drop, {**info, "versions": versions},
                       scratch, log=log)
            fields = t.fn(net.eval(), staging, job)
            manifest = {**info, **fields, "weights": str(weights) if weights else None,
                        "calibration": calibration.summary() if calibration else None, "versions": versions}
            write_manifest(staging, manifest)
            seconds = time.perf_counter() - t0
            manifest.update(export_seconds=round(seconds, 2), size_bytes=artifact_size(staging))
            if validate:
                images, source = validation_images(generator, calibration, input_sigma(net), seed)
                record = validate_artifact(staging, net, generator=generator, images=images, source=source)
                if record["status"] == "fail":
                    record["fix"] = fix_hint(target) if precision == "int8" else None
                manifest["validation"] = record
            write_manifest(staging, manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if record is not None and record["status"] == "fail":
        hint = f"; try {record['fix']}" if record.get("fix") else ""
        warnings.warn(f"{final.name} failed validation ({record['rule']} not met){hint}; the artifact is kept "
                      f"at {final}", ValidationFailed, stacklevel=2)
    return final


def tiling_record(net: nn.Module) -> dict[str, int]:
    """How an app tiles large images for ``net``: receptive radius (impulse probe on torch), overlap, margin, align."""
    from pngan.runtimes.autotile import geometry_for, receptive_radius
    from pngan.runtimes.torch_runner import TorchRunner

    radius = receptive_radius(TorchRunner(net))
    geo = geometry_for(radius)
    return {"receptive_radius": radius, "overlap": geo["overlap"], "margin": geo["margin"],
            "align": int(getattr(net, "pad_multiple", 1))}


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
    """Export every target available here; returns the folders written and ``{target: why skipped}``.

    The calibration data are read once and shared by the INT8 targets.
    """
    precision = kw.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise PnganError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if kw.get("max_accuracy_drop") is not None and precision != "int8":
        raise PnganError("--max-accuracy-drop applies to --precision int8 only")
    written, skipped = [], {}
    if precision == "int8" and kw.get("calibration") is None:
        kw["calibration"] = calibration_for(net, kw.get("calib_dir"), samples=kw.get("calib_samples", DEFAULT_SAMPLES),
                                            noise=kw.get("calib_noise", "auto"), seed=kw.get("seed", 0),
                                            shapes=kw.get("shapes"))
        if kw.get("log"):
            kw["log"](f"calibration: {kw['calibration'].describe()}")
        if kw.get("calib_dir") is None:
            warnings.warn(f"no --calib-dir: calibrating INT8 on the shipped sample images "
                          f"({kw['calibration'].samples} crops); pass --calib-dir for data like yours",
                          CalibrationNote, stacklevel=2)
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
