"""Property tests for the noise models: range, dtype, shape, seeded determinism, typed errors."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pngan.errors import PnganError
from pngan.noise import NOISE_MODELS, add_awgn, add_camera_noise, add_poisson_gaussian, get_noise_model
from pngan.noise.awgn import quantize_8bit

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 2**32 - 1)
shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))
sigmas = st.floats(0.0, 200.0)
shots = st.one_of(st.floats(0.0, 0.05), st.tuples(*[st.floats(0.0, 0.05)] * 3))
reads = st.one_of(st.floats(0.0, 1e-3), st.tuples(*[st.floats(0.0, 1e-3)] * 3))


@st.composite
def images(draw: st.DrawFn, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Float32 H x W x 3 images in [lo, hi]: random, constant (incl. 0 and 1) or a ramp."""
    h, w = draw(shapes)
    kind = draw(st.sampled_from(["random", "constant", "ramp"]))
    if kind == "random":
        x = np.random.default_rng(draw(seeds)).random((h, w, 3), dtype=np.float32)
    elif kind == "constant":
        x = np.full((h, w, 3), draw(st.sampled_from([0.0, 1.0, 0.5, 0.1234])), np.float32)
    else:
        x = np.broadcast_to(np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w, 1), (h, w, 3)).copy()
    return (lo + (hi - lo) * x).astype(np.float32)


def _awgn(img: np.ndarray, rng: Any, level: Any, **kw: Any) -> np.ndarray:
    return add_awgn(img, level, rng, **kw)


def _pg(img: np.ndarray, rng: Any, level: Any, **kw: Any) -> np.ndarray:
    shot, read, exact = level
    return add_poisson_gaussian(img, rng, shot, read, exact=exact, **kw)


def _camera(img: np.ndarray, rng: Any, level: Any, **kw: Any) -> np.ndarray:
    return add_camera_noise(img, rng, level, **kw)


# (model, level strategy); levels None draw random realistic parameters
MODELS: dict[str, tuple[Callable[..., np.ndarray], st.SearchStrategy]] = {
    "awgn": (_awgn, sigmas),
    "poisson-gaussian": (_pg, st.tuples(st.one_of(st.none(), shots), st.one_of(st.none(), reads), st.booleans())),
    "camera": (_camera, st.one_of(st.none(), st.tuples(st.floats(0.0, 0.02), st.floats(0.0, 1e-3)))),
}


def _check_output(y: np.ndarray, x: np.ndarray) -> None:
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all()
    assert y.min() >= 0.0 and y.max() <= 1.0
    np.testing.assert_array_equal(y, quantize_8bit(y))  # on the 8-bit grid, as a saved PNG


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), seed=seeds)
def test_output_in_range_and_deterministic(name: str, data: st.DataObject, seed: int) -> None:
    fn, levels = MODELS[name]
    x = data.draw(images())
    level = data.draw(levels)
    y = fn(x, seed, level)
    _check_output(y, x)
    np.testing.assert_array_equal(y, fn(x.copy(), seed, level))  # same seed, same output
    np.testing.assert_array_equal(y, fn(x, np.random.default_rng(seed), level))  # a seed == its Generator


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), seed=seeds)
def test_out_of_range_and_other_dtypes_are_clipped(name: str, data: st.DataObject, seed: int) -> None:
    fn, levels = MODELS[name]
    x = data.draw(images(lo=-2.0, hi=3.0))
    dtype = data.draw(st.sampled_from([np.float16, np.float32, np.float64]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float16 overflow of extreme test values is fine
        _check_output(fn(x.astype(dtype), seed, data.draw(levels)), x)


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), seed=seeds)
def test_uint8_input_equals_scaled_float_input(name: str, data: st.DataObject, seed: int) -> None:
    fn, levels = MODELS[name]
    x8 = np.round(data.draw(images()) * 255).astype(np.uint8)
    level = data.draw(levels)
    np.testing.assert_array_equal(fn(x8, seed, level), fn(x8.astype(np.float32) / np.float32(255), seed, level))


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), seeds2=st.lists(seeds, min_size=2, max_size=2, unique=True))
def test_different_seeds_give_different_noise(name: str, data: st.DataObject, seeds2: list[int]) -> None:
    fn, _ = MODELS[name]
    x = data.draw(images(lo=0.2, hi=0.8))  # away from the clipped ends, where two draws can both saturate
    level = {"awgn": data.draw(st.floats(1.0, 100.0)), "poisson-gaussian": (None, None, data.draw(st.booleans())),
             "camera": None}[name]
    a, b = (fn(x, s, level, quantize=False) for s in seeds2)
    assert a.dtype == b.dtype == np.float32 and np.isfinite(a).all() and np.isfinite(b).all()
    assert not np.array_equal(a, b)


@FUZZ
@given(images(), seeds, st.booleans())
def test_zero_noise_is_identity_up_to_quantization(x: np.ndarray, seed: int, quantize: bool) -> None:
    expect = quantize_8bit(x) if quantize else x
    np.testing.assert_array_equal(add_awgn(x, 0.0, seed, quantize=quantize), expect)
    for exact in (False, True):
        np.testing.assert_allclose(add_poisson_gaussian(x, seed, 0.0, 0.0, exact=exact, quantize=quantize), expect,
                                   atol=1e-7, rtol=0)


@FUZZ
@given(images(), seeds, st.floats(1e-300, 1e-12), st.floats(1.0, 1e30))
def test_exact_poisson_with_extreme_rates(x: np.ndarray, seed: int, tiny_shot: float, scale: float) -> None:
    """Rates x / shot beyond numpy's Poisson limit: no crash, output stays on the grid in [0, 1]."""
    _check_output(add_poisson_gaussian(x, seed, tiny_shot, 0.0, exact=True), x)
    _check_output(add_poisson_gaussian(x * np.float32(scale), seed, 1e-3, 0.0, exact=True), x)


bad_images = st.one_of(
    st.tuples(st.integers(1, 5), st.integers(1, 5)).map(lambda s: np.zeros(s, np.float32)),  # 2-D
    st.integers(0, 5).filter(lambda c: c != 3).map(lambda c: np.zeros((4, 4, c), np.float32)),  # channels
    st.sampled_from([(0, 4, 3), (4, 0, 3), (1, 4, 4, 3), (12,), ()]).map(lambda s: np.zeros(s, np.float32)),
    st.sampled_from([np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint16, np.complex64, object])
    .map(lambda t: np.zeros((4, 4, 3), t)),  # unsupported dtypes
    st.sampled_from([np.nan, np.inf, -np.inf]).map(lambda v: np.full((3, 3, 3), v, np.float32)),
    st.sampled_from([None, "image", 3.0, [[[0.1, 0.2, 0.3]], [[0.1]]]]),  # not arrays / ragged
)


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), bad=bad_images)
def test_bad_images_raise_pngan_error(name: str, data: st.DataObject, bad: Any) -> None:
    fn, levels = MODELS[name]
    with pytest.raises(PnganError):
        fn(bad, 0, data.draw(levels))


bad_rngs = st.one_of(st.integers(max_value=-1), st.floats(allow_nan=True), st.text(max_size=3), st.just([1, 2]))


@pytest.mark.parametrize("name", list(MODELS))
@FUZZ
@given(data=st.data(), rng=bad_rngs)
def test_bad_rng_raises_pngan_error(name: str, data: st.DataObject, rng: Any) -> None:
    fn, levels = MODELS[name]
    with pytest.raises(PnganError):
        fn(np.full((4, 4, 3), 0.5, np.float32), rng, data.draw(levels))


bad_numbers = st.one_of(st.floats(max_value=-1e-9), st.sampled_from([np.nan, np.inf, -np.inf]),
                        st.sampled_from([None, "thirty", [1.0, 2.0], {"a": 1}]))


@FUZZ
@given(bad_numbers)
def test_bad_sigma_raises_pngan_error(sigma: Any) -> None:
    x = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(PnganError):
        add_awgn(x, sigma, 0)
    with pytest.raises(PnganError):
        get_noise_model("gaussian")(x, 0, sigma=sigma)


@FUZZ
@given(bad_numbers.filter(lambda v: v is not None), st.sampled_from(["shot", "read", "camera"]), st.booleans())
def test_bad_shot_read_raise_pngan_error(value: Any, which: str, exact: bool) -> None:
    x = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(PnganError):
        if which == "camera":
            add_camera_noise(x, 0, (value, 1e-4))
        else:
            add_poisson_gaussian(x, 0, **{which: value}, exact=exact)


@FUZZ
@given(st.one_of(st.sampled_from(sorted(NOISE_MODELS)), st.text(max_size=20), st.none(), st.integers()))
def test_get_noise_model_returns_a_model_or_raises(name: Any) -> None:
    if name in NOISE_MODELS:
        assert get_noise_model(name) is NOISE_MODELS[name]
    else:
        with pytest.raises(PnganError):
            get_noise_model(name)
