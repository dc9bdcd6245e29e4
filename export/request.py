"""One ``pngan-export`` run as a library call (``run_request``): its options checked, the model loaded, exported.

Torch is imported only once the options are checked (``pngan-export`` builds an ``ExportRequest`` first).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.errors import PnganError
from pngan.export.shapes import DEFAULT_MIN, DEFAULT_OPT, ShapeSpec
from pngan.runtimes.formats import PRECISIONS, names
from pngan.runtimes.parity_rules import DEFAULT_MAX_DROP

TARGET_CHOICES = [*names(), "all"]


@dataclass(frozen=True)
class ExportRequest:
    """The options of one ``pngan-export`` run, as given on its command line (the names of its parameters)."""

    out: Path
    targets: tuple[str, ...] = ("onnx",)
    model_name: str | None = None
    weights: Path | None = None
    precision: str = "fp32"
    calib_dir: tuple[Path, ...] = ()
    calib_noise: str = "auto"
    calib_samples: int = DEFAULT_SAMPLES
    clean_calib: bool = False
    val_pairs: tuple[Path, ...] = ()
    max_drop: float = DEFAULT_MAX_DROP
    allow_drop: bool = False
    mixed: bool = False
    no_validate: bool = False
    input_shape: tuple[int, int] | None = None
    dynamic: bool = False
    min_shape: tuple[int, int] = DEFAULT_MIN
    opt_shape: tuple[int, int] = DEFAULT_OPT
    max_shape: tuple[int, int] | None = None
    max_batch: int = 1
    litert_sizes: str | None = None
    seed: int = 0
    force: bool = False


@dataclass
class ExportOutcome:
    """What a run wrote: ``lines`` to print (a summary per artifact, ``wrote``, ``skipped``) and a failure, if any."""

    written: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    failure: str | None = None  # the error a run with an artifact that failed validation ends with


def check_request(r: ExportRequest) -> ShapeSpec:
    """``PnganError`` for options that do not go together (before the model is loaded); returns the shapes."""
    from pngan.calibration.policy import parse_noise
    from pngan.export.shapes import parse_sizes

    for target in r.targets:
        if target not in TARGET_CHOICES:
            raise PnganError(f"unknown target {target!r}; choose one of: {', '.join(TARGET_CHOICES)}")
    if "all" in r.targets and len(r.targets) > 1:
        raise PnganError("--target all exports every target; give it alone or list the targets")
    if len(set(r.targets)) != len(r.targets):
        raise PnganError(f"--target given twice: {' '.join(r.targets)}")
    if r.precision not in PRECISIONS:
        raise PnganError(f"unknown precision {r.precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if r.dynamic and r.input_shape is not None:
        raise PnganError("--input-shape and --dynamic exclude each other")
    if r.clean_calib and r.calib_noise != "auto":
        raise PnganError("--clean-calib and --calib-noise exclude each other (--clean-calib is --calib-noise none)")
    parse_noise(r.calib_noise)  # a typo fails before the model is loaded
    if not r.max_drop > 0:
        raise PnganError(f"--max-drop must be > 0 dB, got {r.max_drop:g}")
    if r.no_validate and (r.val_pairs or r.mixed):
        raise PnganError("--no-validate skips the validation pairs that --val-pairs and --mixed need")
    if r.mixed and r.precision != "int8":
        raise PnganError("--mixed applies to --precision int8")
    sizes = parse_sizes(r.litert_sizes) if r.litert_sizes is not None else None
    if sizes and not {"litert", "all"} & set(r.targets):
        raise PnganError("--litert-sizes applies to --target litert (or all)")
    return ShapeSpec(fixed=r.input_shape, min_hw=r.min_shape, opt_hw=r.opt_shape, max_hw=r.max_shape,
                     max_batch=r.max_batch, sizes=sizes)


def _outcome(written: list[Path], skipped: dict[str, str]) -> ExportOutcome:
    """The summary line of each folder (read from its manifest), then ``wrote`` and ``skipped`` lines."""
    from pngan.export.validate import summary_line

    lines, failed = [], []
    for folder in written:
        m = json.loads((folder / "manifest.json").read_text("utf-8"))
        rec = m.get("validation")
        lines.append(summary_line(folder.name, m.get("size_bytes"), m.get("export_seconds", 0.0), rec))
        if rec and rec["status"] == "fail":
            failed.append((folder, rec))
    lines += [f"wrote {folder}" for folder in written]
    lines += [f"skipped {name}: {why}" for name, why in skipped.items()]
    failure = None
    if failed:
        folder, rec = failed[0]
        fix = f"; fix: {rec['fix']}" if rec.get("fix") else ""
        failure = (f"{len(failed)} artifact(s) failed validation (first: {folder.name}: "
                   f"{rec['failed_because']}{fix}); kept in {folder.parent} for inspection")
    return ExportOutcome(written, skipped, lines, failure)


def run_request(r: ExportRequest, log: Callable[[str], None] | None = None) -> ExportOutcome:
    """Check ``r``, load its model and export each target (``log``: progress lines); ``PnganError`` on bad options.

    A failed validation is the outcome's ``failure`` (not a ``ValidationFailed`` warning).
    """
    shapes = check_request(r)
    from pngan.export import exporter  # torch from here on
    from pngan.export.plan import Budget
    from pngan.models import default_weights, load_model
    from pngan.weights import DEFAULT_DENOISER, resolve

    name = DEFAULT_DENOISER if r.model_name is None and r.weights is None else r.model_name
    w = resolve(r.weights) if r.weights is not None else default_weights(name)  # a shipped name too
    net = load_model(name, w, name_option="--model")
    budget = Budget(tuple(r.val_pairs), r.max_drop, r.allow_drop, r.mixed)
    kw = dict(precision=r.precision, weights=w, force=r.force, calib_dir=list(r.calib_dir) or None,
              calib_samples=r.calib_samples, calib_noise="none" if r.clean_calib else r.calib_noise, seed=r.seed,
              budget=budget, shapes=shapes, validate=not r.no_validate, log=log)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=exporter.ValidationFailed)  # the outcome's failure says it
        if r.targets == ("all",):
            written, skipped = exporter.export_all(net, r.out, **kw)
        else:
            written, skipped = exporter.export_targets(net, r.targets, r.out, **kw), {}
    return _outcome(written, skipped)
