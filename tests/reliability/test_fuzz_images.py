"""Property tests for ``pngan.io.images``: any array or file either works or raises ``PnganError``.

"Works" means: ``read_image`` gives a finite float32 H x W x 3 array in [0, 1] of the
encoded size; the array helpers give their documented layout with the input's values.
The cases at the end pin bugs fuzzing found (array layouts and values that used to slip
through as ValueError, TypeError or garbage files).
"""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from pngan.errors import ImageError, PnganError
from pngan.io.images import _to_float, from_tensor_batch, read_image, to_tensor_batch, to_uint8, write_image

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
_names = itertools.count()

REAL_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64,
               np.float16, np.float32, np.float64]
ODD_DTYPES = [np.bool_, np.complex64]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_images")


def _fresh(folder: Path, suffix: str) -> Path:
    return folder / f"f{next(_names)}{suffix}"


def _check_image(img: Any, hw: tuple[int, int] | None = None) -> None:
    """The ``read_image`` contract: finite float32 (H, W, 3) in [0, 1], H, W >= 1."""
    assert isinstance(img, np.ndarray) and img.dtype == np.float32
    assert img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 1
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0
    if hw is not None:
        assert img.shape[:2] == hw


def _read(path: Path) -> np.ndarray | None:
    """``read_image`` with warnings silenced; None for an ``ImageError`` (any other exception propagates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_image(path)
        except ImageError:
            return None


def _arrays(dtypes: list, finite: bool = True) -> st.SearchStrategy[np.ndarray]:
    """Arrays of any of ``dtypes`` and any shape up to 4-D (incl. zero-size and 0-D)."""
    def elements(dt: Any) -> st.SearchStrategy | None:
        d = np.dtype(dt)
        if d.kind != "f":
            return None  # hypothesis' default for the dtype
        bits = 8 * d.itemsize
        return st.floats(-2.0, 3.0, width=bits) if finite else st.floats(width=bits)
    return st.sampled_from(dtypes).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
                              elements=elements(dt)))


def _image_shaped(dtypes: list) -> st.SearchStrategy[np.ndarray]:
    """Valid H x W x 3 arrays (H, W >= 1) of a real dtype; floats cover out-of-range values."""
    return st.sampled_from(dtypes).flatmap(
        lambda dt: hnp.arrays(dt, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)),
                              elements=st.floats(-1.0, 2.0, width=16) if np.dtype(dt).kind == "f" else None))


# ---------------------------------------------------------------- array helpers


@FUZZ
@given(_arrays(REAL_DTYPES + ODD_DTYPES, finite=False))
def test_to_float_any_dtype_and_shape(arr: np.ndarray) -> None:
    try:
        out = _to_float(arr, "fuzz")
    except PnganError:
        assert arr.dtype.kind in "bc" or not np.isfinite(arr).all()  # only refused for these
        return
    assert arr.dtype.kind in "iuf" and out.shape == arr.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and (out.size == 0 or (out.min() >= 0.0 and out.max() <= 1.0))
    if arr.dtype == np.uint8:
        np.testing.assert_allclose(out, arr / 255.0, atol=1e-7)


@FUZZ
@given(_arrays(REAL_DTYPES + [np.bool_]))
def test_to_uint8_rounds_clipped_values(arr: np.ndarray) -> None:
    out = to_uint8(arr)
    assert out.dtype == np.uint8 and out.shape == arr.shape
    if arr.dtype == np.uint8:
        expect = arr
    elif arr.dtype == np.bool_:
        expect = arr * 255
    else:  # integers are 16-bit (as read_image reads them), floats are [0, 1]
        scale = 65535.0 if arr.dtype.kind in "iu" else 1.0
        expect = np.floor(np.clip(arr.astype(np.float64) / scale, 0.0, 1.0) * 255.0 + 0.5)
    np.testing.assert_allclose(out, expect, atol=1)  # float rounding may move a .5 tie by one level


@FUZZ
@given(_image_shaped([np.uint8, np.float16, np.float32, np.float64]))
def test_tensor_batch_round_trip(img: np.ndarray) -> None:
    t = to_tensor_batch(img)
    assert t.shape == (1, 3, *img.shape[:2]) and t.dtype == np.float32 and t.flags.c_contiguous
    back = from_tensor_batch(t)
    assert back.shape == img.shape and back.flags.c_contiguous
    np.testing.assert_array_equal(back, img.astype(np.float32))


@FUZZ
@given(_image_shaped([np.uint8, np.float32, np.float64]), st.sampled_from([".png", ".jpg", ".jpeg", ".bmp"]))
def test_write_then_read(folder: Path, img: np.ndarray, suffix: str) -> None:
    p = _fresh(folder, suffix)
    before = set(folder.iterdir())
    write_image(p, img)
    assert set(folder.iterdir()) - before == {p}  # no temp file left beside it
    back = _read(p)
    assert back is not None
    _check_image(back, img.shape[:2])
    if suffix in (".png", ".bmp"):  # lossless
        expect = img if img.dtype == np.uint8 else to_uint8(img)
        np.testing.assert_array_equal(back, expect / np.float32(255.0))
    p.unlink()


# ---------------------------------------------------------------- files


PIL_MODES = [None, "1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16",
             "F", "La"]
FORMATS = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".png", "WEBP": ".webp"}


@st.composite
def encoded(draw: st.DrawFn) -> tuple[bytes, str, tuple[int, int], np.ndarray, str]:
    """An array (any dtype, 2-D or H x W x C), optionally converted to a PIL mode, in a PIL-supported format."""
    dt = draw(st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.bool_, np.int8, np.float64]))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    shape = draw(st.sampled_from([(h, w), (h, w, 1), (h, w, 2), (h, w, 3), (h, w, 4)]))
    seed = draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    if dt == np.bool_:
        arr = r.random(shape) > 0.5
    elif np.dtype(dt).kind == "f":
        arr = (r.random(shape) * draw(st.sampled_from([1.0, 3.0, 300.0])) - draw(st.sampled_from([0.0, 0.5]))).astype(dt)
    else:
        info = np.iinfo(dt)
        arr = r.integers(max(info.min, -(2**31)), min(info.max, 2**31 - 1), shape, endpoint=True).astype(dt)
    try:
        im = Image.fromarray(arr)
        mode = draw(st.sampled_from(PIL_MODES))
        if mode is not None:
            im = im.convert(mode)
        fmt = draw(st.sampled_from(sorted(FORMATS)))
        buf = io.BytesIO()
        im.save(buf, format=fmt)
    except (TypeError, ValueError, OSError, KeyError):
        assume(False)  # PIL cannot build or encode this combination: nothing to read
        raise
    return buf.getvalue(), FORMATS[fmt], (h, w), arr, f"{fmt}/{im.mode}"


@settings(FUZZ, max_examples=150)
@given(encoded())
def test_read_encoded_arrays(folder: Path, case: tuple[bytes, str, tuple[int, int], np.ndarray, str]) -> None:
    data, suffix, hw, arr, what = case
    p = _fresh(folder, suffix)
    p.write_bytes(data)
    img = _read(p)
    assert img is not None, f"{what}: a valid {arr.dtype} {arr.shape} file was refused"
    _check_image(img, hw)
    if what in ("PNG/RGB", "TIFF/RGB", "BMP/RGB") and arr.dtype == np.uint8 and arr.shape[2:] == (3,):
        np.testing.assert_array_equal(img, arr / np.float32(255.0))
    p.unlink()


def _valid_file(kind: str) -> bytes:
    rgb = (np.random.default_rng(1).random((16, 24, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=kind)
    return buf.getvalue()


SEEDS = {k: _valid_file(k) for k in ("PNG", "JPEG", "GIF")}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid PNG/JPEG/GIF truncated, byte-flipped or both, under a matching or a wrong suffix."""
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))
    suffix = draw(st.sampled_from([".png", ".jpg", ".gif", ".tif"]))
    return bytes(data[:cut]), suffix


@settings(FUZZ, max_examples=150)
@given(st.one_of(damaged(), st.tuples(st.binary(max_size=300), st.sampled_from([".png", ".jpg", ".tif", ".bmp"]))))
def test_read_damaged_or_random_bytes(folder: Path, case: tuple[bytes, str]) -> None:
    data, suffix = case
    p = _fresh(folder, suffix)
    p.write_bytes(data)
    img = _read(p)  # an exception other than ImageError fails the test
    if img is not None:
        _check_image(img)
    p.unlink()


def test_read_missing_and_directory(folder: Path) -> None:
    for p in (folder / "missing.png", folder):
        with pytest.raises(ImageError):
            read_image(p)


# ---------------------------------------------------------------- bugs fuzzing found, fixed


def _raises_pngan_error(fn: Callable[..., Any], *args: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(PnganError):
            fn(*args)


_NAN = np.full((4, 5, 3), np.nan, np.float32)
BAD_LAYOUTS = {"2d": np.zeros((4, 5), np.float32), "1d": np.zeros(7, np.float32), "0d": np.zeros((), np.float32),
               "4d": np.zeros((1, 4, 5, 3), np.float32), "hw1": np.zeros((4, 5, 1), np.float32),
               "hw4": np.zeros((4, 5, 4), np.float32), "empty": np.zeros((0, 5, 3), np.float32)}
@pytest.mark.parametrize("arr", [pytest.param(_NAN, id="nan"),
                                 pytest.param(np.zeros((2, 2, 3), np.complex64), id="complex")])
def test_to_uint8_refuses_non_real_values(arr: np.ndarray) -> None:
    _raises_pngan_error(to_uint8, arr)


@pytest.mark.parametrize("arr", [pytest.param(a, id=k) for k, a in BAD_LAYOUTS.items()])
def test_to_tensor_batch_refuses_non_hw3(arr: np.ndarray) -> None:
    _raises_pngan_error(to_tensor_batch, arr)


@pytest.mark.parametrize("arr", [pytest.param(a, id=k) for k, a in {
    "3d": np.zeros((3, 4, 5), np.float32), "5d": np.zeros((1, 1, 3, 4, 5), np.float32),
    "batch2": np.zeros((2, 3, 4, 5), np.float32), "c1": np.zeros((1, 1, 4, 5), np.float32),
    "n0": np.zeros((0, 3, 4, 5), np.float32)}.items()])
def test_from_tensor_batch_refuses_non_13hw(arr: np.ndarray) -> None:
    _raises_pngan_error(from_tensor_batch, arr)


@pytest.mark.parametrize("arr", [pytest.param(a, id=k)
                                 for k, a in BAD_LAYOUTS.items() if k not in ("2d", "hw4")])
def test_write_image_refuses_bad_layouts(folder: Path, arr: np.ndarray) -> None:
    _raises_pngan_error(write_image, _fresh(folder, ".png"), arr)


@pytest.mark.parametrize("arr", [pytest.param(a, id=k) for k, a in {
    "nan": _NAN, "complex": np.zeros((2, 2, 3), np.complex64), "object": np.zeros((2, 2, 3), object)}.items()])
def test_write_image_refuses_bad_values(folder: Path, arr: np.ndarray) -> None:
    _raises_pngan_error(write_image, _fresh(folder, ".png"), arr)


def test_write_image_uint16_is_scaled_or_refused(folder: Path) -> None:
    arr = np.full((2, 2, 3), 32768, np.uint16)
    p = _fresh(folder, ".png")
    try:
        write_image(p, arr)
    except PnganError:
        return
    np.testing.assert_array_equal(read_image(p), np.full(arr.shape, 128 / 255, np.float32))


@pytest.mark.parametrize("arr", [np.zeros((4, 5), np.float32), np.zeros((4, 5, 4), np.float32)], ids=["2d", "hw4"])
def test_write_image_gray_and_rgba_are_readable(folder: Path, arr: np.ndarray) -> None:
    """Gray and RGBA arrays are written as such (PIL's L / RGBA) and read back as RGB."""
    p = _fresh(folder, ".png")
    write_image(p, arr)
    img = _read(p)
    assert img is not None
    _check_image(img, arr.shape[:2])
