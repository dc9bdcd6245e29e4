"""The plan of one export (``plan_export``): its options resolved and checked before anything is written."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch.nn as nn

from pngan.calibration import CalibrationSource
from pngan.calibration.mix import CalibrationMix, mix, split_samples
from pngan.calibration.policy import choose_calibration
from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.errors import PnganError, PnganWarning
from pngan.export.job import ExportJob
from pngan.export.shapes import DEFAULT_MAX, ShapeSpec
from pngan.export.targets import TARGETS, Target
from pngan.models import spec
from pngan.models.inputs import input_sigma
from pngan.models.smnet_noise import takes_noise
from pngan.models.weights import sha256
from pngan.runtimes import formats
from pngan.runtimes.manifest import tool_versions
from pngan.runtimes.parity_rules import DEFAULT_MAX_DROP
from pngan.runtimes.val_sets import ValSet, val_sets_for

CalibDirs = str | os.PathLike | Sequence[str | os.PathLike] | None
MIXED_TARGETS = ("openvino", "onnx")  # whose quantizers take a list of layers to keep in float
LEVEL_RATIO = 2.0  # a validation folder this many times noisier than the calibration crops gets a note


class CalibrationNote(PnganWarning):
    """INT8 without ``--calib-dir`` (the shipped samples are used), or calibrated on much lighter noise."""


@dataclass
class ExportPlan:
    """One export resolved and checked: what ``pngan.export.exporter.write_export`` writes, and where."""

    net: nn.Module
    target: Target
    precision: str
    folder: Path  # out/<target>-<precision>, written through a staging folder
    shapes: ShapeSpec
    weights: Path | None = None
    calibration: CalibrationSource | CalibrationMix | None = None  # INT8 of a calibrating target only
    max_drop: float = DEFAULT_MAX_DROP  # dB of denoised PSNR any validation folder may lose
    info: dict[str, Any] = field(default_factory=dict)  # model metadata: the manifest's first fields
    versions: dict[str, str] = field(default_factory=dict)
    generator: bool = False
    validate: bool = True
    seed: int = 0
    log: Callable[[str], None] | None = None
    started: float = 0.0  # time.perf_counter() when planning began (the manifest's export_seconds)
    val_sets: list[ValSet] | None = None  # a denoiser's validation pairs (None: a generator)
    allow_drop: bool = False  # keep an artifact over the budget instead of failing
    mixed: bool = False  # INT8 with the fewest layers in float that meet max_drop

    def job(self, scratch: Path) -> ExportJob:
        """What the target function receives (its metadata carries the tool versions)."""
        return ExportJob(self.precision, self.shapes, self.calibration, {**self.info, "versions": self.versions},
                         scratch, log=self.log, mixed=self.mixed, max_drop=self.max_drop, val_sets=self.val_sets)


def artifact_dirname(target: str, precision: str) -> str:
    """Folder name of one artifact, e.g. ``onnx-fp32``."""
    return f"{target}-{precision}"


def calibration_for(net: nn.Module, calib_dir: CalibDirs, *, samples: int = DEFAULT_SAMPLES,
                    noise: str | bool = "auto", seed: int = 0,
                    shapes: ShapeSpec | None = None) -> CalibrationSource | CalibrationMix:
    """The calibration data an INT8 export of ``net`` uses (see ``pngan.calibration.policy``), read and checked.

    Several folders share ``samples`` (``pngan.calibration.mix``); folder ``i`` draws with seed ``seed + i``.
    """
    if isinstance(noise, bool):
        noise = "poisson-gaussian" if noise else "none"
    generator = spec(net.pngan_name).kind == "generator"
    dirs = _dirs(calib_dir)
    shares = split_samples(samples, len(dirs)) if dirs else [samples]
    if len(set(Path(d).resolve() for d in dirs)) != len(dirs):
        raise PnganError(f"--calib-dir given twice: {' '.join(str(d) for d in dirs)}")
    srcs = [choose_calibration(d, generator=generator, noise=noise, input_sigma=input_sigma(net), samples=n,
                               crop=(shapes or ShapeSpec()).calib_hw, seed=seed + i)
            for i, (d, n) in enumerate(zip(dirs or [None], shares))]
    src = mix(srcs)
    src.pairs  # read and crop now: a bad folder fails before anything is written
    return src


def _dirs(calib_dir: CalibDirs) -> list[str | os.PathLike]:
    if calib_dir is None:
        return []
    if isinstance(calib_dir, (str, os.PathLike)):
        return [calib_dir]
    return list(calib_dir)


def level_note(calibration: CalibrationSource | CalibrationMix, sets: Sequence[ValSet]) -> str | None:
    """A note when a validation folder's noise is ``LEVEL_RATIO`` times the calibration crops' (same estimator)."""
    from pngan.calibration.level import set_level

    calib = set_level(calibration.inputs())
    heavy = [(s.name, set_level(n for _, n, _ in s.items)) for s in sets]
    far = [(name, lv) for name, lv in heavy if lv > LEVEL_RATIO * max(calib, 0.5)]
    if not far:
        return None
    name, lv = max(far, key=lambda t: t[1])
    return (f"the calibration crops carry lighter noise (~{calib:.1f}/255, MAD estimate) than validation folder "
            f"{name} (~{lv:.1f}/255): activation ranges may clip its noise; add photos like those to --calib-dir")


def calibrate(net: nn.Module, calib_dir: CalibDirs, *, samples: int, noise: str | bool, seed: int,
              shapes: ShapeSpec | None, log: Callable[[str], None] | None, val_sets: Sequence[ValSet] | None = None,
              stacklevel: int = 2) -> CalibrationSource | CalibrationMix:
    """``calibration_for``, said on ``log``; a ``CalibrationNote`` (at ``stacklevel``) without ``calib_dir``, or
    when a folder of ``val_sets`` carries much heavier noise than the crops (``level_note``)."""
    src = calibration_for(net, calib_dir, samples=samples, noise=noise, seed=seed, shapes=shapes)
    if log:
        log(f"calibration: {src.describe()}")
    if calib_dir is None:
        warnings.warn(f"no --calib-dir: calibrating INT8 on the shipped sample images "
                      f"({src.samples} crops); pass --calib-dir for data like yours",
                      CalibrationNote, stacklevel=stacklevel)
    elif val_sets and (note := level_note(src, val_sets)):
        warnings.warn(note, CalibrationNote, stacklevel=stacklevel)
    return src


def tiling_record(net: nn.Module) -> dict[str, int]:
    """How an app tiles large images for ``net``: receptive radius (impulse probe on torch), overlap, margin, align."""
    from pngan.runtimes.autotile import geometry_for, receptive_radius
    from pngan.runtimes.torch_runner import TorchRunner

    radius = receptive_radius(TorchRunner(net))
    geo = geometry_for(radius)
    return {"receptive_radius": radius, "overlap": geo["overlap"], "margin": geo["margin"],
            "align": int(getattr(net, "pad_multiple", 1))}


def _check_target(target: str, precision: str) -> Target:
    t = TARGETS[formats.get(target).name]
    if precision not in t.precisions:
        raise PnganError(f"target {target!r} supports precision {', '.join(t.precisions)}, not {precision!r}")
    return t


@dataclass(frozen=True)
class Budget:
    """How a denoiser's artifact is judged: the validation pairs, the denoised-PSNR drop any folder may show,
    whether an artifact over it is kept (``allow_drop``), and INT8 with layers in float to meet it (``mixed``)."""

    val_pairs: tuple[str | os.PathLike, ...] = ()
    max_drop: float = DEFAULT_MAX_DROP
    allow_drop: bool = False
    mixed: bool = False

    def check(self, target: str, precision: str, generator: bool) -> None:
        """``PnganError`` for a budget that cannot apply to this export."""
        if not self.max_drop > 0:
            raise PnganError(f"--max-drop must be > 0 dB, got {self.max_drop:g}")
        if generator and (self.val_pairs or self.mixed):
            raise PnganError("--val-pairs and --mixed judge denoised PSNR; a generator has no clean targets "
                             "(it is validated on its own inputs)")
        if self.mixed and precision != "int8":
            raise PnganError("--mixed applies to --precision int8")
        if self.mixed and target not in MIXED_TARGETS:
            raise PnganError(f"--mixed: target {target} keeps no layers in float here; "
                             f"use --target {' or '.join(MIXED_TARGETS)}")


def _weights_file(weights: str | os.PathLike) -> Path:
    """The file ``weights`` names (a shipped name such as ``dncnn_poisson-gaussian`` included); one line if none."""
    from pngan.weights import names, resolve

    path = resolve(weights)
    if not path.is_file():
        raise PnganError(f"weights {weights}: no such file nor shipped weights name (shipped: {', '.join(names())})")
    return path


def _resolved_shapes(shapes: ShapeSpec | None, t: Target) -> ShapeSpec:
    """``shapes`` with the target's default upper bound when none is given."""
    shapes = shapes or ShapeSpec()
    if shapes.max_hw is None and shapes.fixed is None:
        shapes = dataclasses.replace(shapes, max_hw=shapes.hw_range(t.fmt.default_max or DEFAULT_MAX)[2])
    return shapes


def model_kind(net: nn.Module) -> tuple[str, bool]:
    """``(registered name, is a generator)``; ``PnganError`` for a model the exporter cannot take."""
    name = getattr(net, "pngan_name", None)
    if name is None:
        raise PnganError("export needs a model built by pngan.models.build")
    generator = spec(name).kind == "generator"
    if generator and takes_noise(net):
        raise PnganError(f"{name} is given its noise as a second input, and pngan-export takes one-input models; "
                         f"sample it in PyTorch (`pngan generate --weights ...`)")
    return name, generator


def _metadata(net: nn.Module, name: str, t: Target, precision: str, shapes: ShapeSpec, weights: Path | None,
              generator: bool) -> dict[str, Any]:
    """The model metadata stamped into the artifact and its manifest."""
    info = {"model": name, "config": getattr(net, "pngan_config", {}), "input_range": [0.0, 1.0],
            "layout": "NCHW RGB float32", "dynamic_dims": shapes.dynamic_dims,
            "weights_sha256": sha256(weights) if weights else None, "target": t.name, "precision": precision,
            **shapes.summary(t.fmt.shapes)}
    if generator:  # its input is clean + input_sigma/255 * N(0, 1): needed to deploy it
        info["input_sigma"] = input_sigma(net)
    info["tiling"] = tiling_record(net)
    return info


def plan_export(net: nn.Module, target: str, out: str | os.PathLike, *, precision: str = "fp32",
                weights: str | os.PathLike | None = None, force: bool = False,
                calib_dir: CalibDirs = None, calib_samples: int = DEFAULT_SAMPLES,
                calib_noise: str | bool = "auto", seed: int = 0, budget: Budget | None = None,
                shapes: ShapeSpec | None = None, validate: bool = True, log: Callable[[str], None] | None = None,
                calibration: CalibrationSource | CalibrationMix | None = None, val_sets: list[ValSet] | None = None,
                stacklevel: int = 2) -> ExportPlan:
    """Check and resolve the options of one ``export`` (see there); reads calibration and validation data,
    writes nothing."""
    started = time.perf_counter()
    t = _check_target(target, precision)
    weights = _weights_file(weights) if weights is not None else None
    budget = budget or Budget()
    name, generator = model_kind(net)
    budget.check(t.name, precision, generator)
    t.check()
    shapes = _resolved_shapes(shapes, t)
    folder = Path(out) / artifact_dirname(target, precision)
    if folder.exists() and not force:
        raise PnganError(f"{folder} exists; pass --force to replace it")
    if not generator and val_sets is None and (validate or budget.mixed):
        val_sets = val_sets_for(budget.val_pairs, seed)
    calibrates = precision == "int8" and t.calibrates
    if calibrates and calibration is None:
        calibration = calibrate(net, calib_dir, samples=calib_samples, noise=calib_noise, seed=seed, shapes=shapes,
                                log=log, val_sets=val_sets, stacklevel=stacklevel + 1)
    info = _metadata(net, name, t, precision, shapes, weights, generator)
    return ExportPlan(net, t, precision, folder, shapes, weights, calibration if calibrates else None,
                      budget.max_drop, info, tool_versions(*t.packages), generator, validate, seed, log, started,
                      val_sets, budget.allow_drop, budget.mixed)
