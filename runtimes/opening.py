"""Open a runner for an artifact folder written by ``pngan-export``, or for the torch reference."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pngan.errors import ArtifactError
from pngan.runtimes.base import BaseRunner


def open_artifact(folder: str | os.PathLike, **options: Any) -> BaseRunner:
    """A runner for the artifact in ``folder`` (its backend chosen by ``manifest.json``)."""
    from pngan.export.manifest import read_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    target = manifest["target"]
    if target == "onnx":
        from pngan.runtimes.onnxruntime_runner import OnnxRuntimeRunner

        runner = OnnxRuntimeRunner(folder / manifest["artifact"], precision=manifest["precision"], **options)
    else:
        raise ArtifactError(f"{folder}: no runner for target {target!r}")
    runner.manifest = manifest
    return runner


def torch_runner(name: str | None = None, weights: str | os.PathLike | None = None, **options: Any) -> BaseRunner:
    """The eager PyTorch reference for ``name``/``weights`` (shipped weights by default)."""
    from pngan.models import load_model
    from pngan.runtimes.torch_runner import TorchRunner

    return TorchRunner(load_model(name, weights), **options)
