"""``export(model, target, ...)``: the one entry point, with a table of formats."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from pngan.errors import PnganError
from pngan.export.manifest import tool_versions, write_manifest
from pngan.export.onnx_export import export_onnx, require_onnx
from pngan.models.weights import sha256


@dataclass(frozen=True)
class Target:
    """One export format: its function, precisions, the packages its versions come from."""

    name: str
    fn: Callable[[nn.Module, Path, dict[str, Any]], dict[str, Any]]
    precisions: tuple[str, ...]
    check: Callable[[], None]
    packages: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "onnx": Target("onnx", export_onnx, ("fp32",), require_onnx, ("onnx", "onnxruntime", "onnxscript", "onnxslim")),
}


def artifact_dirname(target: str, precision: str) -> str:
    """Folder name of one artifact, e.g. ``onnx-fp32``."""
    return f"{target}-{precision}"


def export(net: nn.Module, target: str, out: str | os.PathLike, *, precision: str = "fp32",
           weights: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Export ``net`` (built by the registry) to ``out/<target>-<precision>/`` with a manifest.

    The folder is built in a temp folder beside it and renamed at the end, so a
    failure leaves nothing half-written, and an existing folder is kept unless ``force``.
    """
    if target not in TARGETS:
        raise PnganError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}")
    t = TARGETS[target]
    if precision not in t.precisions:
        raise PnganError(f"target {target!r} supports precision {', '.join(t.precisions)}, not {precision!r}")
    t.check()
    out = Path(out)
    final = out / artifact_dirname(target, precision)
    if final.exists() and not force:
        raise PnganError(f"{final} exists; pass --force to replace it")
    out.mkdir(parents=True, exist_ok=True)
    name = getattr(net, "pngan_name", None)
    if name is None:
        raise PnganError("export needs a model built by pngan.models.build")
    info = {"model": name, "config": getattr(net, "pngan_config", {}), "input_range": [0.0, 1.0],
            "layout": "NCHW RGB float32", "dynamic_dims": ["batch", "height", "width"],
            "weights_sha256": sha256(weights) if weights else None, "target": target, "precision": precision}
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=out))
    try:
        fields = t.fn(net.eval(), staging, {**info, "versions": tool_versions(*t.packages)})
        write_manifest(staging, {**info, **fields, "weights": str(weights) if weights else None,
                                 "versions": tool_versions(*t.packages)})
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
