"""Runtimes (installed as ``pngan.runtimes``): one Runner protocol over every backend.

``open_artifact(folder)`` opens whatever ``pngan-export`` wrote (ONNX Runtime, OpenVINO,
Core ML on macOS, TensorRT where installed); ``torch_runner`` is the eager reference;
``tiled(runner, image, tile=, overlap=)`` runs any runner on images of any size.

The lower layer: it owns what an artifact is (the format table, ``manifest.json``, precision
detection) and how one is checked (``parity_*``); ``pngan.export`` builds on it and is never
imported from here (``tests/test_import_layers.py``).
"""

from pngan.runtimes.base import BaseRunner, InputError, PlatformError, Runner, check_input  # noqa: F401
from pngan.runtimes.opening import RUNNERS, backend_options, open_artifact, torch_runner  # noqa: F401
from pngan.runtimes.tiling import tiled  # noqa: F401

__all__ = ["BaseRunner", "InputError", "PlatformError", "Runner", "RUNNERS", "backend_options", "check_input",
           "open_artifact", "tiled", "torch_runner"]
