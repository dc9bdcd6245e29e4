"""Tiled inference: overlapping tiles, seamless blending, memory bounded by the tile size."""

from __future__ import annotations

from typing import Callable

import numpy as np

from pngan.runtimes.base import InputError


def _starts(size: int, tile: int, step: int) -> list[int]:
    """Tile origins covering ``size`` with stride ``step``; the last tile ends at ``size``."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def _ramp(length: int, overlap: int) -> np.ndarray:
    """1-D blending weight: a linear ramp of ``overlap`` pixels at both ends, 1 in the middle."""
    w = np.ones(length, np.float32)
    if overlap > 0 and length > 2 * overlap:
        r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        w[:overlap], w[-overlap:] = r, r[::-1]
    return w


def tiled(runner: Callable[[np.ndarray], np.ndarray], image: np.ndarray, tile: int = 256,
          overlap: int = 32, batch: int = 4) -> np.ndarray:
    """Run ``runner`` on ``image`` (N x 3 x H x W float32) tile by tile and blend the tiles.

    Tiles of ``tile`` x ``tile`` pixels overlap by ``overlap``; overlaps are
    blended with linear ramps (weights normalized per pixel), so there are no
    seams. Up to ``batch`` tiles go to the runner at once. Beyond the input and
    output, memory is ``O(batch * tile**2)``, independent of the image size.
    """
    if image.ndim != 4:
        raise InputError(f"tiled() needs N x C x H x W, got shape {image.shape}")
    if tile <= 0 or overlap < 0 or 2 * overlap >= tile:
        raise InputError(f"need tile > 2 * overlap >= 0, got tile={tile}, overlap={overlap}")
    n, _, h, w = image.shape
    th, tw = min(tile, h), min(tile, w)
    ys, xs = _starts(h, th, th - overlap), _starts(w, tw, tw - overlap)
    wy, wx = _ramp(th, overlap if len(ys) > 1 else 0), _ramp(tw, overlap if len(xs) > 1 else 0)
    weight = wy[:, None] * wx[None, :]
    out: np.ndarray | None = None
    norm = np.zeros((h, w), np.float32)
    coords = [(y, x) for y in ys for x in xs]
    for i in range(n):
        for k in range(0, len(coords), batch):
            chunk = coords[k:k + batch]
            tiles = np.stack([image[i, :, y:y + th, x:x + tw] for y, x in chunk])
            pred = runner(np.ascontiguousarray(tiles))
            if out is None:
                out = np.zeros((n, pred.shape[1], h, w), np.float32)
            for (y, x), p in zip(chunk, pred):
                out[i, :, y:y + th, x:x + tw] += p * weight
                if i == 0:
                    norm[y:y + th, x:x + tw] += weight
    assert out is not None
    return out / norm
