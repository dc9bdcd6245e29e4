"""Open a runner for an artifact folder written by ``pngan-export``, or for the torch reference."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from pngan.errors import ArtifactError, PnganError
from pngan.runtimes import formats
from pngan.runtimes.base import BaseRunner

# manifest "target" -> "module:class" (from the format table)
RUNNERS = {name: f.runner for name, f in formats.FORMATS.items()}


def runner_class(target: str) -> type[BaseRunner]:
    """The runner class for an export target; ``ArtifactError`` for unknown targets."""
    if target not in RUNNERS:
        raise ArtifactError(f"no runner for target {target!r}; known targets: {', '.join(RUNNERS)}")
    return formats.load(RUNNERS[target])


def backend_options(target: str) -> list[str]:
    """Keyword options the runner for ``target`` accepts (besides the artifact path)."""
    sig = inspect.signature(runner_class(target).__init__)
    return [p for p in sig.parameters if p not in ("self", "path", "precision", "input_shape")]


MODEL_SUFFIXES = {suffix: formats.by_suffix(suffix).name for suffix in formats.bare_suffixes()}


def onnx_metadata(path: Path) -> dict[str, Any]:
    import json

    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError, others on garbage
        raise ArtifactError(f"{path}: cannot load: corrupted ONNX file ({type(e).__name__})") from None
    out: dict[str, Any] = {}
    for p in model.metadata_props:
        try:
            out[p.key] = json.loads(p.value) if p.key != "model" else p.value
        except ValueError:
            out[p.key] = p.value
    return out


def openvino_metadata(path: Path) -> dict[str, Any]:
    import re

    try:
        xml = path.read_text("utf-8", errors="replace")
    except OSError as e:
        raise ArtifactError(f"{path}: cannot read ({e.strerror})") from None
    block = re.search(r"<pngan>(.*?)</pngan>", xml, re.S)
    return dict(re.findall(r'<(\w+) value="([^"]*)"', block.group(1))) if block else {}


def bare_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """A manifest for a bare ``.onnx``/``.xml`` model file, from the metadata pngan-export stamps in it.

    The precision is read from the graph; the torch reference uses the shipped weights
    (the ONNX metadata's ``weights_sha256`` is compared with them).
    """
    from pngan.runtimes.precision import detect_precision

    path = Path(path)
    target = MODEL_SUFFIXES.get(path.suffix.lower())
    if target is None:
        raise ArtifactError(f"{path}: not a model file ({' or '.join(MODEL_SUFFIXES)}) nor an artifact folder")
    if not path.is_file():
        raise ArtifactError(f"{path}: no such model file")
    meta = formats.load(formats.FORMATS[target].metadata_of)(path)
    if not isinstance(meta.get("model"), str):
        raise ArtifactError(f"{path}: no pngan metadata naming the model; pass the artifact folder written by "
                            f"pngan-export")
    manifest = {"model": meta["model"], "target": target, "precision": detect_precision(path),
                "artifact": path.name, "weights": None, "weights_sha256": meta.get("weights_sha256"), "bare": True}
    for key in ("input_shape", "shape_range", "input_sigma"):
        if meta.get(key) is not None:
            manifest[key] = meta[key]
    return manifest


def artifact_manifest(path: str | os.PathLike, verify: bool = True) -> tuple[Path, dict[str, Any]]:
    """``(folder, manifest)`` of an artifact folder, or of a bare model file (its folder, a made-up manifest).

    A model file inside an artifact folder whose manifest names it is read through that manifest.
    """
    from pngan.runtimes.manifest import MANIFEST, read_manifest

    from pngan.runtimes.artifacts import export_root_hint

    path = Path(path)
    if path.is_dir() and (hint := export_root_hint(path)):
        raise ArtifactError(hint)
    if path.is_file():
        folder = path.parent
        if (folder / MANIFEST).is_file():
            m = read_manifest(folder, verify=verify)
            if m["artifact"] == path.name:
                return folder, m
        return folder, bare_manifest(path)
    return path, read_manifest(path, verify=verify)


def open_artifact(folder: str | os.PathLike, *, ignore_unknown: bool = False, **options: Any) -> BaseRunner:
    """A runner for the artifact in ``folder`` (its backend chosen by ``manifest.json``), or for a
    bare ``.onnx``/``.xml`` model file (see ``bare_manifest``).

    ``options`` are backend options (``threads`` for all; ``opt_level``/``providers`` for
    ONNX Runtime; ``hint``/``cache_dir``/``inference_precision`` for OpenVINO; ...). An
    option the backend does not take is an error unless ``ignore_unknown``, which drops it
    (handy when one set of options is used for every artifact in a folder).
    """
    folder, manifest = artifact_manifest(folder)
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
