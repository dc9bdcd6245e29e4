"""The table of export formats: one row per target, and everything that depends on the target reads it.

It lives in ``pngan.runtimes``, the lower layer (``pngan.export`` builds on the runtimes, never the
reverse; ``pngan.export.targets`` is the exporter's view of it). Torch-free and import-free
(``pngan-export --help`` reads it): exporters, checks, runners and readers are named
``"module:attribute"`` and imported on use; what the runtimes load from it (runners, metadata and
precision readers) is their own code. Derived from it: the exporter's dispatch and ``--target``
choices, the runner registry, model-file names and suffixes (parity, bare files), precision
detection, validation fix hints, ``pngan denoise``'s device handling and the runtime benchmark's
columns. A new target is one exporter module, one runner module and one row (``docs/adding-a-target.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

PRECISIONS = ("fp32", "fp16", "int8")
ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript", "onnxslim")


@dataclass(frozen=True)
class Format:
    """One export target (see the module docstring); ``"module:attr"`` fields are imported on use."""

    name: str  # --target, manifest "target", folders <name>-<precision>
    title: str  # the runtime that runs it, for help and docs
    suffix: str  # the model file is model<suffix>
    extra: str  # the pip extra that installs its packages
    exporter: str  # fn(net, staging_folder, job) -> manifest fields
    require: str  # fn() raising BackendMissingError (naming the extra) when the packages are missing
    runner: str  # a BaseRunner subclass: cls(path, precision=..., **options)
    precisions: tuple[str, ...]
    runs_on: str  # where its files run
    packages: tuple[str, ...]  # versions recorded in the manifest
    device: str = "cpu"  # "cpu", "gpu" (pngan denoise sizes tiles from GPU memory) or "macos"
    calibrates: bool = True  # INT8 needs activation calibration data
    int8_fix: str = "--precision fp16"  # what fixes an INT8 artifact that failed validation
    sidecars: tuple[str, ...] = ()  # suffixes of the model's other files, same stem (".bin": model.bin)
    precision_of: str | None = None  # fn(path) -> precision read from the model file (None: opaque)
    metadata_of: str | None = None  # fn(path) -> pngan metadata stamped in a bare model file
    shapes: str = "range"  # "range": dynamic H x W in [min, max]; "sizes": fixed-size signatures
    default_max: tuple[int, int] | None = None  # largest H x W without --max-shape (None: shapes.DEFAULT_MAX)
    bench: tuple[str, ...] = ()  # precisions scripts/bench_runtimes.py times by default

    @property
    def model_file(self) -> str:
        return f"model{self.suffix}"


_X = "pngan.export."
_R = "pngan.runtimes."
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("onnx", "ONNX Runtime", ".onnx", "export", _X + "onnx_export:export_onnx",
           _X + "onnx_export:require_onnx", _R + "onnxruntime_runner:OnnxRuntimeRunner", PRECISIONS,
           "ONNX Runtime: Linux, macOS, Windows, Android, iOS, browsers", ONNX_PACKAGES,
           int8_fix="--calib-dir of photos like yours (repeatable) or --mixed, or --precision fp16",
           precision_of=_R + "precision:onnx_precision", metadata_of=_R + "opening:onnx_metadata",
           bench=("fp32", "int8")),
    Format("openvino", "OpenVINO", ".xml", "openvino", _X + "openvino_export:export_openvino",
           _X + "openvino_export:require_openvino", _R + "openvino_runner:OpenVinoRunner", PRECISIONS,
           "OpenVINO: Intel CPUs and GPUs (Linux, Windows, macOS)", ("openvino", "nncf", *ONNX_PACKAGES),
           int8_fix="--calib-dir of photos like yours (repeatable) or --mixed, or --precision fp16",
           sidecars=(".bin",), precision_of=_R + "precision:openvino_precision",
           metadata_of=_R + "opening:openvino_metadata", bench=PRECISIONS),
    Format("coreml", "Core ML", ".mlpackage", "coreml", _X + "coreml_export:export_coreml",
           _X + "coreml_export:require_coreml", _R + "coreml_runner:CoreMLRunner", PRECISIONS,
           "Core ML: iOS 16+, macOS 13+ (prediction needs Apple hardware)", ("coremltools",),
           device="macos", calibrates=False),
    Format("tensorrt", "TensorRT", ".engine", "tensorrt", _X + "tensorrt_export:export_tensorrt",
           _R + "tensorrt_version:require_tensorrt", _R + "tensorrt_runner:TensorRTRunner", PRECISIONS,
           "TensorRT: the NVIDIA GPU and TensorRT version it was built with", ("tensorrt", *ONNX_PACKAGES),
           device="gpu", int8_fix="--calib-dir of photos like yours, or --precision fp16"),
    Format("executorch", "ExecuTorch (XNNPACK)", ".pte", "executorch",
           _X + "executorch_export:export_executorch", _X + "executorch_export:require_executorch",
           _R + "executorch_runner:ExecuTorchRunner", PRECISIONS,
           "ExecuTorch with XNNPACK: Android, iOS, Linux, macOS", ("executorch", "torchao"),
           int8_fix="--calib-dir of photos like yours with --calib-samples 64, or --precision fp16",
           precision_of=_R + "executorch_runner:pte_precision", bench=PRECISIONS,
           default_max=(1024, 1024)),  # XNNPACK plans its working memory for the upper bound
    Format("litert", "LiteRT (XNNPACK)", ".tflite", "litert", _X + "litert_export:export_litert",
           _X + "litert_export:require_litert", _R + "litert_runner:LiteRtRunner", PRECISIONS,
           "LiteRT (TensorFlow Lite) with XNNPACK: Android, iOS, Linux, microcontrollers",
           ("litert-torch", "ai-edge-litert", "ai-edge-quantizer", "torchao"),
           int8_fix="--calib-dir of photos like yours with --calib-samples 64, or --precision fp16",
           precision_of=_R + "litert_runner:tflite_precision", shapes="sizes", bench=PRECISIONS),
)}


def names() -> list[str]:
    """Target names in table order."""
    return list(FORMATS)


def get(name: str) -> Format:
    """The row of ``name``; ``PnganError`` naming the choices for an unknown one."""
    if name not in FORMATS:
        from pngan.errors import PnganError

        raise PnganError(f"unknown target {name!r}; choose one of: {', '.join(FORMATS)}, all")
    return FORMATS[name]


def by_suffix(suffix: str) -> Format | None:
    """The format whose model file ends in ``suffix`` (any case), else ``None``."""
    return next((f for f in FORMATS.values() if f.suffix == suffix.lower()), None)


def model_files() -> tuple[str, ...]:
    """Every file name that marks a folder as an artifact (model files and their side files)."""
    return tuple(f"model{s}" for f in FORMATS.values() for s in (f.suffix, *f.sidecars))


def bare_suffixes() -> tuple[str, ...]:
    """Suffixes of model files that carry their own pngan metadata (usable without a manifest)."""
    return tuple(f.suffix for f in FORMATS.values() if f.metadata_of)


def load(ref: str) -> Any:
    """Import ``"module:attribute"``."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
