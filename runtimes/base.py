"""The Runner protocol: float32 N x 3 x H x W in [0, 1] in, same layout out."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from pngan.errors import PnganError


class InputError(PnganError):
    """An array handed to a runner has the wrong dtype, layout, channels or range."""


@runtime_checkable
class Runner(Protocol):
    """What every backend offers: run a batch, say what it is, release resources."""

    backend: str
    precision: str
    device: str

    def run(self, x: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


def check_input(x: Any, min_side: int = 1) -> np.ndarray:
    """Validate a runner input; returns it as contiguous float32. Range tolerance is 1e-3."""
    if not isinstance(x, np.ndarray):
        raise InputError(f"runner input must be a numpy array, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise InputError(f"runner input must be float32, got {x.dtype}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"runner input must be N x 3 x H x W (RGB), got shape {tuple(x.shape)}")
    if x.shape[2] < min_side or x.shape[3] < min_side:
        raise InputError(f"image {x.shape[2]}x{x.shape[3]} is smaller than the network's minimum {min_side}x{min_side}")
    if x.size and (float(x.min()) < -1e-3 or float(x.max()) > 1.0 + 1e-3):
        raise InputError(f"runner input must be in [0, 1], got [{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return np.ascontiguousarray(x)


class BaseRunner:
    """Context-manager and ``__call__`` sugar shared by the runners."""

    backend = "base"
    precision = "fp32"
    device = "cpu"
    min_side = 1

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._run(check_input(x, self.min_side))

    __call__ = run

    def _run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release backend resources (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, precision={self.precision!r}, device={self.device!r})"
