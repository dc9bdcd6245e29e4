"""Open a runner for an artifact folder written by ``pngan-export``, or for the torch reference."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from pngan.errors import ArtifactError, PnganError
from pngan.runtimes.base import BaseRunner

# manifest "target" -> (module, class) under pngan.runtimes
RUNNERS = {
    "onnx": ("onnxruntime_runner", "OnnxRuntimeRunner"),
    "openvino": ("openvino_runner", "OpenVinoRunner"),
    "coreml": ("coreml_runner", "CoreMLRunner"),
    "tensorrt": ("tensorrt_runner", "TensorRTRunner"),
}


def runner_class(target: str) -> type[BaseRunner]:
    """The runner class for an export target; ``ArtifactError`` for unknown targets."""
    if target not in RUNNERS:
        raise ArtifactError(f"no runner for target {target!r}; known targets: {', '.join(RUNNERS)}")
    import importlib

    module, cls = RUNNERS[target]
    return getattr(importlib.import_module(f"pngan.runtimes.{module}"), cls)


def backend_options(target: str) -> list[str]:
    """Keyword options the runner for ``target`` accepts (besides the artifact path)."""
    sig = inspect.signature(runner_class(target).__init__)
    return [p for p in sig.parameters if p not in ("self", "path", "precision", "input_shape")]


def open_artifact(folder: str | os.PathLike, *, ignore_unknown: bool = False, **options: Any) -> BaseRunner:
    """A runner for the artifact in ``folder`` (its backend chosen by ``manifest.json``).

    ``options`` are backend options (``threads`` for all; ``opt_level``/``providers`` for
    ONNX Runtime; ``hint``/``cache_dir``/``inference_precision`` for OpenVINO; ...). An
    option the backend does not take is an error unless ``ignore_unknown``, which drops it
    (handy when one set of options is used for every artifact in a folder).
    """
    from pngan.export.manifest import read_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    target = manifest["target"]
    cls = runner_class(target)
    allowed = backend_options(target)
    unknown = sorted(set(options) - set(allowed))
    if unknown and not ignore_unknown:
        raise PnganError(f"option(s) {', '.join(unknown)} do not apply to {target} artifacts "
                         f"(options: {', '.join(allowed)})")
    options = {k: v for k, v in options.items() if k in allowed and v is not None}
    extra: dict[str, Any] = {}
    if "input_shape" in inspect.signature(cls.__init__).parameters:
        extra["input_shape"] = manifest.get("input_shape")
    runner = cls(folder / manifest["artifact"], precision=manifest["precision"], **extra, **options)
    shape = manifest.get("input_shape")
    if runner.static_shape is None and shape and len(shape) == 4 and all(isinstance(d, int) for d in shape):
        runner.static_shape = (shape[0], shape[2], shape[3])
    rng = manifest.get("shape_range") or {}
    if rng.get("min"):
        runner.min_side = (int(rng["min"][0]), int(rng["min"][1]))
    if rng.get("max"):
        runner.max_hw = (int(rng["max"][0]), int(rng["max"][1]))
    runner.manifest = manifest
    runner.folder = folder
    return runner


def torch_runner(name: str | None = None, weights: str | os.PathLike | None = None, **options: Any) -> BaseRunner:
    """The eager PyTorch reference for ``name``/``weights`` (shipped weights by default)."""
    from pngan.models import load_model
    from pngan.runtimes.torch_runner import TorchRunner

    return TorchRunner(load_model(name, weights), **options)
