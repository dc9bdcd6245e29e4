"""Property tests for ``tiled()``: any geometry reassembles exactly, invalid parameters raise InputError."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pngan.runtimes.base import InputError
from pngan.runtimes.tiling import tiled

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

Runner = Callable[[np.ndarray], np.ndarray]


def _identity(x: np.ndarray) -> np.ndarray:
    return x.copy()


def _affine(x: np.ndarray) -> np.ndarray:
    return x * 2.0 + 1.0


def _box3(x: np.ndarray) -> np.ndarray:
    """3 x 3 box blur with zero padding (receptive-field radius 1), per channel."""
    h, w = x.shape[2:]
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return sum(p[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)) / np.float32(9.0)


@st.composite
def geometry(draw: st.DrawFn, min_margin: int = 0) -> dict:
    """Valid parameters: tile > 2 * overlap >= 4 * margin >= 0, batch >= 1."""
    margin = draw(st.integers(min_margin, 6))
    overlap = draw(st.integers(2 * margin, 2 * margin + 12))
    th = draw(st.integers(2 * overlap + 1, 2 * overlap + 80))
    tw = draw(st.integers(2 * overlap + 1, 2 * overlap + 80))
    tile = th if draw(st.booleans()) else (th, tw)
    return dict(tile=tile, overlap=overlap, margin=margin, batch=draw(st.integers(1, 5)),
                exact=draw(st.booleans()))


def _image(n: int, h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, h, w), dtype=np.float32)


sizes = st.tuples(st.integers(1, 2), st.integers(1, 300), st.integers(1, 300), st.integers(0, 2**16))


@FUZZ
@given(sizes, geometry())
def test_identity_reassembles_exactly(size: tuple[int, int, int, int], geo: dict) -> None:
    x = _image(*size)
    calls: list[tuple[int, ...]] = []

    def run(t: np.ndarray) -> np.ndarray:
        calls.append(t.shape)
        return _identity(t)

    y = tiled(run, x, **geo)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-6, rtol=0)
    assert all(c[0] <= geo["batch"] for c in calls)
    if geo["exact"]:  # static-shape engines: every call is exactly batch x tile
        th, tw = (geo["tile"], geo["tile"]) if isinstance(geo["tile"], int) else geo["tile"]
        assert set(calls) == {(geo["batch"], 3, th, tw)}


@FUZZ
@given(sizes, geometry())
def test_pointwise_runner_reassembles_exactly(size: tuple[int, int, int, int], geo: dict) -> None:
    x = _image(*size)
    np.testing.assert_allclose(tiled(_affine, x, **geo), _affine(x), atol=1e-5, rtol=0)


@FUZZ
@given(sizes, geometry(min_margin=1))
def test_local_runner_matches_whole_image_when_margin_covers_receptive_field(
        size: tuple[int, int, int, int], geo: dict) -> None:
    x = _image(*size)
    th, tw = (geo["tile"], geo["tile"]) if isinstance(geo["tile"], int) else geo["tile"]
    # exact=True edge-pads a side shorter than the tile (documented), which a zero-padded blur sees
    assume(not geo["exact"] or (x.shape[2] >= th and x.shape[3] >= tw))
    np.testing.assert_allclose(tiled(_box3, x, **geo), _box3(x), atol=1e-5, rtol=0)


@st.composite
def bad_geometry(draw: st.DrawFn) -> dict:
    """Parameters that break at least one of tile > 2 * overlap >= 4 * margin >= 0, batch >= 1."""
    tile = draw(st.one_of(st.integers(-5, 40), st.tuples(st.integers(-5, 40), st.integers(-5, 40))))
    overlap = draw(st.integers(-5, 25))
    margin = draw(st.one_of(st.none(), st.integers(-5, 15)))
    batch = draw(st.integers(-2, 4))
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    m = overlap // 4 if margin is None else margin
    valid = min(th, tw) > 2 * overlap and overlap >= 0 and 0 <= 2 * m <= overlap and batch >= 1
    assume(not valid)
    return dict(tile=tile, overlap=overlap, margin=margin, batch=batch, exact=draw(st.booleans()))


@FUZZ
@given(st.integers(1, 60), st.integers(1, 60), bad_geometry())
def test_invalid_parameters_raise_input_error(h: int, w: int, geo: dict) -> None:
    with pytest.raises(InputError):
        tiled(_identity, _image(1, h, w, 0), **geo)


@pytest.mark.parametrize("tile", [(8, 8, 8), (8,), 8.0, None, "tile"])
def test_malformed_tile_raises_input_error(tile: object) -> None:
    with pytest.raises(InputError):
        tiled(_identity, _image(1, 10, 10, 0), tile, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, [[0.5]], np.zeros((3, 8, 8), np.float32), np.zeros((1, 1, 3, 8, 8), np.float32)])
def test_non_nchw_input_raises_input_error(bad: object) -> None:
    with pytest.raises(InputError):
        tiled(_identity, bad, 8, 2)  # type: ignore[arg-type]
