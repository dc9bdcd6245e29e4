"""Which TensorRT pngan supports, and importing it with one-line errors (the runner and the exporter).

``tensorrt>=10.0,<12`` (``TENSORRT_REQUIREMENT``): TensorRT 11 removed the weakly typed flags and the
implicit INT8 calibrator, so one strongly typed path serves 10 and 11.
"""

from __future__ import annotations

import re
from typing import Any

from pngan.errors import BackendMissingError, PnganError

TENSORRT_MIN = (10, 0)  # lowest supported (major, minor)
TENSORRT_BELOW = (12, 0)  # first unsupported
TENSORRT_REQUIREMENT = "tensorrt>=10.0,<12"
INSTALL_HINT = (f"TensorRT needs an NVIDIA GPU and driver (Linux or Windows); there run: "
                f"pip install \"{TENSORRT_REQUIREMENT}\"")


class TensorRTMissingError(BackendMissingError):
    """tensorrt does not import, or its version is outside ``TENSORRT_REQUIREMENT``."""

    def __init__(self, message: str) -> None:
        PnganError.__init__(self, message)
        self.package, self.extra = "tensorrt", "tensorrt"


def check_version(version: str) -> tuple[int, int]:
    """``(major, minor)`` of a supported TensorRT version; ``TensorRTMissingError`` otherwise."""
    m = re.match(r"(\d+)\.(\d+)", str(version))
    found = (int(m[1]), int(m[2])) if m else None
    if found is None or not TENSORRT_MIN <= found < TENSORRT_BELOW:
        raise TensorRTMissingError(f"TensorRT {version} is installed but pngan supports {TENSORRT_REQUIREMENT}: "
                                   f"pip install \"{TENSORRT_REQUIREMENT}\"")
    return found


def require_tensorrt() -> Any:
    """The ``tensorrt`` module, checked against the supported range (one-line errors)."""
    try:
        import tensorrt
    except ImportError:
        raise TensorRTMissingError(f"tensorrt is not installed (the 'tensorrt' extra); {INSTALL_HINT}") from None
    check_version(getattr(tensorrt, "__version__", "unknown"))
    return tensorrt
