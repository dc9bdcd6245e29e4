"""The Runner protocol: float32 N x 3 x H x W in [0, 1] in, same layout out."""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

# InputError and PlatformError live in pngan.errors (tiling needs them too) and are imported from here as well
from pngan.errors import InputError, PlatformError, PnganError  # noqa: F401


@runtime_checkable
class Runner(Protocol):
    """What every backend offers: run a batch, say what it is, release resources."""

    backend: str
    precision: str
    device: str

    def run(self, x: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


def check_input(x: Any, min_side: int | tuple[int, int] = 1) -> np.ndarray:
    """Validate a runner input; returns it as contiguous float32. Range tolerance is 1e-3.

    ``min_side`` is the network's smallest input, one int or ``(height, width)``.
    """
    mh, mw = (min_side, min_side) if isinstance(min_side, int) else min_side
    if not isinstance(x, np.ndarray):
        raise InputError(f"runner input must be a numpy array, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise InputError(f"runner input must be float32, got {x.dtype}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"runner input must be N x 3 x H x W (RGB), got shape {tuple(x.shape)}")
    if x.shape[2] < mh or x.shape[3] < mw:
        raise InputError(f"image {x.shape[3]}x{x.shape[2]} (WxH) is smaller than the network's minimum {mw}x{mh}")
    if x.size and (float(x.min()) < -1e-3 or float(x.max()) > 1.0 + 1e-3):
        raise InputError(f"runner input must be in [0, 1], got [{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return np.ascontiguousarray(x)


class BaseRunner:
    """Context-manager and ``__call__`` sugar shared by the runners, and tiling for every runner.

    ``static_shape`` is ``(batch, height, width)`` for an engine compiled for one input
    shape (manifest ``input_shape``); ``run`` then feeds any other input through
    ``tiled`` with the tile equal to the static shape (last tiles padded), so callers
    never see the restriction. The tile overlap and discarded margin come from the
    network's receptive radius, measured once per runner by an impulse probe on one
    tile (``tile_geometry``); tile origins are aligned to the network's down-sampling
    factor (manifest model), so multi-scale networks see the whole image's grid.
    """

    backend = "base"
    precision = "fp32"
    device = "cpu"
    min_side: int | tuple[int, int] = 1
    max_hw: tuple[int, int] | None = None  # larger inputs are tiled (an engine's shape profile)
    static_shape: tuple[int, int, int] | None = None
    manifest: dict[str, Any] | None = None
    _closed = False
    _geometry: dict[str, int] | None = None

    def run(self, x: np.ndarray) -> np.ndarray:
        if self._closed:
            raise PnganError(f"{self.backend} runner is closed")
        x = check_input(x, self.min_side)
        return self.feed(self._run)(x)

    def feed(self, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """``fn`` applied the way this runner feeds its engine: whole, tiled at the static shape or beyond
        ``max_hw`` (see ``feed_plan``). Parity runs the torch reference through it, so both see the same tiles."""

        def fed(x: np.ndarray) -> np.ndarray:
            from pngan.runtimes.tiling import tiled

            plan = self.feed_plan(x.shape)
            if plan is None:
                return fn(x)
            tile, batch, exact, geometry = plan
            return tiled(fn, x, tile, batch=batch, exact=exact, **dict(geometry))

        return fed

    def feed_plan(self, shape: tuple[int, ...]) -> tuple | None:
        """How ``feed`` hands an input of ``shape`` (N, 3, H, W) to the engine: ``None`` when whole, else
        ``(tile, batch, exact, geometry items)`` (hashable: parity caches torch's output per plan). A runner that
        overrides ``feed`` overrides this too."""
        if self.static_shape is not None and (shape[0], *shape[2:]) != self.static_shape:
            n, h, w = self.static_shape
            return (h, w), n, True, tuple(sorted(self.tile_geometry().items()))
        if self.max_hw is not None and (shape[2] > self.max_hw[0] or shape[3] > self.max_hw[1]):
            th, tw = min(self.max_hw[0], shape[2]), min(self.max_hw[1], shape[3])
            return (th, tw), 1, False, tuple(sorted(self.tile_geometry((th, tw)).items()))
        return None

    __call__ = run

    @property
    def tiles_itself(self) -> bool:
        """Whether ``run`` already tiles or pads inputs the engine cannot take (callers need not tile for memory)."""
        return self.static_shape is not None or self.max_hw is not None

    @property
    def static_overlap(self) -> int:
        """The overlap of static-shape tiles (see ``tile_geometry``)."""
        return self.tile_geometry()["overlap"]

    def tile_geometry(self, tile: tuple[int, int] | None = None) -> dict[str, int]:
        """``{"overlap", "margin", "align"}`` for tiles of this runner (its static shape, or ``tile``).

        The receptive radius is probed once (on one static-shape tile, else on 64 x 64 growing
        to 256 x 256); a tile too small for it gets a ``warning:`` that seams are possible.
        """
        import warnings

        from pngan.errors import PnganWarning
        from pngan.runtimes.autotile import geometry_for, receptive_radius

        if self._geometry is None:
            try:
                if self.static_shape is not None:
                    n, h, w = self.static_shape
                    radius = receptive_radius(self._run, (h, w), batch=n, grow=False)
                else:
                    radius = receptive_radius(self._run, (64, 64) if self.min_side == 1 else _probe_size(self))
            except Exception as e:  # noqa: BLE001 - a probe the engine refuses: the old fixed margin (8)
                warnings.warn(f"{self.backend}: receptive-radius probe failed ({str(e)[:80]}); tiling with "
                              f"margin 8", PnganWarning, stacklevel=3)
                radius = 6
            self._geometry = {"radius": radius, "align": _model_align(self.manifest)}
        n_h_w = self.static_shape
        size = tile or ((n_h_w[1], n_h_w[2]) if n_h_w else None)
        geo = geometry_for(self._geometry["radius"], size)
        if geo.pop("short"):
            warnings.warn(f"{size[0]}x{size[1]} tiles are too small for this network's receptive radius "
                          f"({self._geometry['radius']} px): tiled results may show seams", PnganWarning,
                          stacklevel=3)
        return {**geo, "align": self._geometry["align"]}

    def run_tiled(self, x: np.ndarray, tile: int | tuple[int, int] = 256, overlap: int = 32, batch: int = 4,
                  **kw: Any) -> np.ndarray:
        """``tiled(self, x, ...)``: bounded memory for images of any size (see ``pngan.runtimes.tiled``)."""
        from pngan.runtimes.tiling import tiled

        x = check_input(x, self.min_side)
        if self.static_shape is not None:  # the engine fixes the tile and the batch
            n, h, w = self.static_shape
            return tiled(self._run, x, (h, w), batch=n, exact=True, **{**self.tile_geometry(), **kw})
        return tiled(self.run, x, tile, overlap, batch, **kw)

    def info(self) -> dict[str, Any]:
        """What this runner is, for reports."""
        return {"backend": self.backend, "precision": self.precision, "device": self.device,
                "static_shape": list(self.static_shape) if self.static_shape else None}

    def _run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release backend resources (idempotent); the runner cannot run afterwards."""
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, precision={self.precision!r}, device={self.device!r})"


def _probe_size(runner: BaseRunner) -> tuple[int, int]:
    """A probe input inside the runner's shape range: 64 x 64 raised to its minimum, capped at its maximum."""
    mh, mw = (runner.min_side, runner.min_side) if isinstance(runner.min_side, int) else runner.min_side
    h, w = max(64, mh), max(64, mw)
    if runner.max_hw is not None:
        h, w = min(h, runner.max_hw[0]), min(w, runner.max_hw[1])
    return h, w


def _model_align(manifest: dict[str, Any] | None) -> int:
    """The down-sampling factor (``pad_multiple``) of the manifest's model; 1 when unknown."""
    if not manifest or "model" not in manifest:
        return 1
    try:
        from pngan.models import build

        return int(getattr(build(manifest["model"], **(manifest.get("config") or {})), "pad_multiple", 1))
    except Exception:  # noqa: BLE001 - an unknown or foreign model: no alignment, tiling still works
        return 1
