"""Automatic tiling: a model's receptive radius (impulse probe), the tile geometry it needs, and
a tile size that fits the free memory.

The margin ``tiled`` discards at inner tile sides must cover the network's receptive radius,
otherwise the kept outputs saw the tile's padding instead of the real neighbours (seams).
The radius is measured, not assumed: one impulse on a textured background, and the largest
distance (Chebyshev) at which the output moves by more than ``tol`` per unit of impulse,
above the far-field level that global pooling (attention) leaves everywhere. Global pooling
itself cannot be tiled exactly (tiles see tile statistics); larger tiles get closer.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

PROBE_TOL = 1e-5  # output change per unit impulse counted as "inside the receptive field"
RAMP = 16  # cross-fade length beyond the discarded margins
BYTES_PER_CHANNEL_PIXEL = 4 * 24  # float32 x 24: measured peak 3-21x the widest layer (dncnn ... smnet), CPU torch
LARGE_PIXELS = 16_000_000  # without a memory estimate, inputs above this many pixels are tiled
DEFAULT_TILE = 512
MAX_TILE = 1024


def receptive_radius(run: Callable[[np.ndarray], np.ndarray], size: tuple[int, int] = (64, 64), batch: int = 1,
                     tol: float = PROBE_TOL, max_side: int = 256, grow: bool = True) -> int:
    """Receptive radius in pixels of ``run`` (N x 3 x H x W in [0, 1] -> same), by an impulse probe.

    ``batch`` is the batch every call must have (static engines); with ``grow`` the probe
    doubles its size (up to ``max_side``) while the response reaches its border.
    """
    h, w = size
    while True:
        rng = np.random.default_rng(0)
        x0 = np.clip(0.3 + 0.05 * rng.standard_normal((1, 3, h, w)), 0.0, 0.5).astype(np.float32)
        x1 = x0.copy()
        cy, cx = h // 2, w // 2
        x1[:, :, cy, cx] += 0.5
        y0, y1 = _run_pair(run, x0, x1, batch)
        d = np.abs(y1 - y0).mean(axis=0) / 0.5
        yy, xx = np.mgrid[:h, :w]
        dist = np.maximum(np.abs(yy - cy), np.abs(xx - cx))
        far = dist >= 3 * min(h, w) // 8
        floor = 2.0 * float(np.quantile(d[far], 0.995)) if far.any() else 0.0
        hit = d > max(tol, floor)
        radius = int(dist[hit].max()) if hit.any() else 0
        if not grow or radius < min(h, w) // 2 - 4 or 2 * max(h, w) > max_side:
            return radius
        h, w = 2 * h, 2 * w


def _run_pair(run: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, x1: np.ndarray,
              batch: int) -> tuple[np.ndarray, np.ndarray]:
    if batch == 1:
        return np.asarray(run(x0))[0], np.asarray(run(x1))[0]
    y = np.asarray(run(np.concatenate([x0, x1] + [x0] * (batch - 2))))
    return y[0], y[1]


def geometry_for(radius: int, tile: tuple[int, int] | int | None = None, overlap: int = 0) -> dict[str, int]:
    """``{"overlap", "margin"}`` for a receptive ``radius``: margin = radius + 2, overlap >= 2 * margin + RAMP.

    With a ``tile``, the overlap is capped below half the tile (the margin then shrinks and
    ``"short"`` says by how many pixels the margin falls short of the radius).
    """
    margin = radius + 2
    ov = max(overlap, 2 * margin + RAMP)
    short = 0
    if tile is not None:
        side = min(tile) if isinstance(tile, tuple) else tile
        cap = (side - 1) // 2
        if ov > cap:
            ov = max(cap, 0)
            short = max(0, margin - ov // 2)
            margin = min(margin, ov // 2)
    return {"overlap": ov, "margin": margin, "short": short}


def available_memory(device: str = "cpu") -> int | None:
    """Bytes free for a new allocation on ``device`` (CPU: MemAvailable, bounded by a cgroup limit)."""
    if device.startswith("cuda"):
        try:
            import torch

            return int(torch.cuda.mem_get_info()[0])
        except Exception:  # noqa: BLE001 - no estimate: fall back to the large-input rule
            return None
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            room = int(limit) - used
            free = room if free is None else min(free, room)
    except (OSError, ValueError):
        pass
    return free


def bytes_per_pixel(net) -> int:
    """Estimated peak bytes per input pixel of running ``net`` (a torch module) on a whole image.

    The widest conv's channels, or the model's own ``widest_per_pixel`` (channels per input pixel of its widest
    activation, weighted by resolution) where it defines one.
    """
    import torch.nn as nn

    own = getattr(net, "widest_per_pixel", None)  # a U-Net's widest convs run at 1/16 of the input's size
    if own:
        return BYTES_PER_CHANNEL_PIXEL * int(-(-own // 1))
    widest = max((m.out_channels for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))),
                 default=64)
    return BYTES_PER_CHANNEL_PIXEL * int(widest)


def plan_tile(h: int, w: int, per_pixel: int | None, free: int | None, overlap: int = 0, align: int = 1,
              fraction: float = 0.5) -> int | None:
    """Tile side for an ``h`` x ``w`` input, or ``None`` when the whole image fits.

    With an estimate (``per_pixel`` bytes, ``free`` bytes) the image is tiled when it needs more
    than ``fraction`` of the free memory, with the largest tile that fits (at most MAX_TILE);
    without one, inputs over LARGE_PIXELS get DEFAULT_TILE.
    """
    if per_pixel and free:
        budget = fraction * free
        if per_pixel * h * w <= budget:
            return None
        side = int((budget / per_pixel) ** 0.5)
    elif h * w > LARGE_PIXELS:
        side = DEFAULT_TILE
    else:
        return None
    side = min(side, MAX_TILE)
    side = max(side, 2 * overlap + 2 * align, 64)
    return side // align * align if align > 1 else side
