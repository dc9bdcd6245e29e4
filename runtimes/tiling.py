"""Tiled inference: overlapping tiles, seamless blending, memory bounded by the tile size.

Blending rule (per axis, the 2-D weight is the outer product):

* a tile side that touches the image border keeps weight 1 up to the border;
* a tile side inside the image first *discards* ``margin`` pixels (weight 0: these
  outputs saw the tile's zero padding instead of the real neighbours), then ramps
  linearly from 0 to 1 over the rest of the overlap, ``overlap - 2 * margin`` pixels.

Two neighbours' ramps are complementary, and the weights are normalized per pixel,
so a network whose receptive-field radius is at most ``margin`` reproduces the
whole-image output up to float rounding (measured: DnCNN, > 100 dB). The default
margin ``overlap // 4`` is only a guess: ``pngan.runtimes.autotile`` measures a model's
radius (impulse probe) and gives the margin and overlap it needs (``geometry_for``);
runners and ``pngan denoise`` use that. A network that down-samples (MIRNet, SMNet: by
4) also needs tile origins on multiples of that factor (``align``), or its
low-resolution grid in a tile differs from the whole image's everywhere. Networks with
global pooling (SMNet's ECA/SKFF attention) see tile statistics instead of image
statistics and cannot be tiled exactly; larger tiles get closer. With ``exact=True``
(static-shape engines) an image side shorter than the tile is edge-padded up to the
tile, so a network that pads with zeros differs from its whole-image output along
that border.

Memory: the per-pixel normalization is separable (a 1-D profile per axis), so beyond
the input and the output arrays only ``batch`` tiles and their outputs are allocated:
the extra memory does not depend on the image size.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from pngan.errors import InputError

DEFAULT_TILE = 256
DEFAULT_OVERLAP = 32


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        a, b = v
        return int(a), int(b)
    except (TypeError, ValueError):
        raise InputError(f"tile must be an int or (height, width), got {v!r}") from None


def _starts(size: int, tile: int, step: int, align: int = 1) -> list[int]:
    """Tile origins covering ``size`` with stride ``step``; the last tile ends at ``size``.

    With ``align > 1`` every origin is a multiple of ``align`` (the step is rounded down to
    one, and the last tile starts at the last aligned origin and runs to ``size``, so it
    may be up to ``align - 1`` pixels longer than ``tile``).
    """
    if size <= tile:
        return [0]
    if align > 1:
        step = max(align, step // align * align)
    starts = list(range(0, size - tile, step))
    last = (size - tile) // align * align
    if last > starts[-1]:
        starts.append(last)
    return starts


def _side_weight(length: int, margin: int, ramp: int, first: bool, last: bool) -> np.ndarray:
    """1-D weight of one tile: border sides flat, inner sides ``margin`` zeros then a linear ramp."""
    w = np.ones(length, np.float32)
    r = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp if ramp > 0 else np.zeros(0, np.float32)
    prof = np.concatenate([np.zeros(margin, np.float32), r])
    if not first:
        w[: len(prof)] = prof
    if not last:
        w[length - len(prof):] = np.minimum(w[length - len(prof):], prof[::-1])
    return w


def _axis_plan(size: int, tile: int, overlap: int, margin: int,
               align: int = 1) -> tuple[list[int], list[np.ndarray], np.ndarray]:
    """Origins, per-tile 1-D weights (their lengths are the tile spans) and the normalization profile."""
    starts = _starts(size, tile, tile - overlap, align)
    spans = [min(tile, size) if i < len(starts) - 1 else size - s for i, s in enumerate(starts)]
    weights = [_side_weight(span, margin, overlap - 2 * margin, i == 0, i == len(starts) - 1)
               for i, span in enumerate(spans)]
    norm = np.zeros(size, np.float32)
    for s, w in zip(starts, weights):
        norm[s:s + len(w)] += w
    if (norm <= 0).any():  # cannot happen with tile > 2 * overlap; guard against future edits
        raise InputError(f"tiling leaves pixels uncovered (size {size}, tile {tile}, overlap {overlap})")
    return starts, weights, norm


def _checked(image: np.ndarray, tile: int | Sequence[int], overlap: int, margin: int | None,
             batch: int) -> tuple[int, int, int]:
    """``(tile height, tile width, margin)``; ``InputError`` for an array or a geometry :func:`tiled` cannot use."""
    if not isinstance(image, np.ndarray) or image.ndim != 4:
        raise InputError(f"tiled() needs an N x C x H x W numpy array, got {getattr(image, 'shape', type(image))}")
    th, tw = _pair(tile)
    margin = overlap // 4 if margin is None else int(margin)
    if min(th, tw) <= 0 or overlap < 0 or 2 * overlap >= min(th, tw) or not 0 <= 2 * margin <= overlap:
        raise InputError(f"need tile > 2 * overlap >= 4 * margin >= 0, got tile={tile}, overlap={overlap}, "
                         f"margin={margin}")
    if batch < 1:
        raise InputError(f"batch must be >= 1, got {batch}")
    return th, tw, margin


def _chunks(tiles: list, shape_of: Callable, batch: int) -> Iterator[list]:
    """Consecutive runs of up to ``batch`` tiles of one shape (``tiles`` sorted by shape)."""
    k = 0
    while k < len(tiles):
        shape = shape_of(tiles[k])
        chunk = [tiles[k]]
        while len(chunk) < batch and k + len(chunk) < len(tiles) and shape_of(tiles[k + len(chunk)]) == shape:
            chunk.append(tiles[k + len(chunk)])
        k += len(chunk)
        yield chunk


def tiled(runner: Callable[[np.ndarray], np.ndarray], image: np.ndarray, tile: int | Sequence[int] = DEFAULT_TILE,
          overlap: int = DEFAULT_OVERLAP, batch: int = 4, *, margin: int | None = None,
          exact: bool = False, align: int = 1) -> np.ndarray:
    """Run ``runner`` on ``image`` (N x 3 x H x W float32) tile by tile and blend the tiles.

    ``tile`` is an int or ``(height, width)``; tiles overlap by ``overlap`` pixels, of
    which ``margin`` (default ``overlap // 4``; pass ``margin_for(model)`` for a model's
    receptive radius) at each inner tile side are discarded and the rest cross-faded (see
    the module docstring). Up to ``batch`` tiles go to the runner at once. ``align``
    makes every tile origin a multiple of it (a network that down-samples by 4 computes
    the same low-resolution grid in a tile as in the whole image only then). With
    ``exact=True`` every call gets exactly ``batch`` tiles of exactly ``tile`` pixels (for
    static-shape engines): a side smaller than the tile (or not fitting the alignment) is
    edge-padded and cropped back, and a short last batch is filled with copies.
    """
    th, tw, margin = _checked(image, tile, overlap, margin, batch)
    align = max(1, int(align))
    n, _, h, w = image.shape
    if exact and align > 1:  # pad the far sides so that every tile is aligned and exactly tile-sized
        ph = 0 if h <= th else -(h - th) % align
        pw = 0 if w <= tw else -(w - tw) % align
        if ph or pw:
            padded = np.pad(image, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
            return tiled(runner, padded, (th, tw), overlap, batch, margin=margin, exact=True,
                         align=align)[:, :, :h, :w]
    ys, wys, ny = _axis_plan(h, th, overlap, margin, align)
    xs, wxs, nx = _axis_plan(w, tw, overlap, margin, align)
    # tiles of one shape go to the runner together (aligned last tiles may be longer)
    tiles = sorted(((i, a, b) for i in range(n) for a in range(len(ys)) for b in range(len(xs))),
                   key=lambda t: (len(wys[t[1]]), len(wxs[t[2]])))
    out: np.ndarray | None = None
    for chunk in _chunks(tiles, lambda t: (len(wys[t[1]]), len(wxs[t[2]])), batch):
        sh, sw = len(wys[chunk[0][1]]), len(wxs[chunk[0][2]])  # span of these tiles inside the image
        crops = [image[i, :, ys[a]:ys[a] + sh, xs[b]:xs[b] + sw] for i, a, b in chunk]
        if exact:
            pad = ((0, 0), (0, th - sh), (0, tw - sw))
            crops = [np.pad(c, pad, mode="edge") if (th > sh or tw > sw) else c for c in crops]
            crops += [crops[-1]] * (batch - len(crops))
        pred = np.asarray(runner(np.ascontiguousarray(np.stack(crops))))
        if out is None:
            out = np.zeros((n, pred.shape[1], h, w), np.float32)
        for (i, a, b), p in zip(chunk, pred):
            y0, x0 = ys[a], xs[b]
            wgt = (wys[a] / ny[y0:y0 + sh])[:, None] * (wxs[b] / nx[x0:x0 + sw])[None, :]
            out[i, :, y0:y0 + sh, x0:x0 + sw] += p[:, :sh, :sw] * wgt
    assert out is not None
    return out
