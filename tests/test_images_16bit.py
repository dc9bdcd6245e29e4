"""16-bit RGB(A) PNG and TIFF are read at full precision (Pillow alone keeps only the high byte)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pngan.io.images import ImageWarning, read_image

tifffile = pytest.importorskip("tifffile", reason="tifffile (a scikit-image dependency) writes the test TIFFs")


def _png16(path: Path, arr: np.ndarray, exif: bytes | None = None) -> None:
    """A 16-bit RGB or RGBA PNG; row y uses filter y % 5 (None, Sub, Up, Average, Paeth), so all five are decoded."""
    h, w, c = arr.shape
    b = arr.astype(">u2").view(np.uint8).reshape(h, w * c * 2).astype(np.int32)
    bpp, rows = c * 2, []
    for y in range(h):
        x, up = b[y], (b[y - 1] if y else np.zeros_like(b[y]))
        left = np.concatenate([np.zeros(bpp, np.int32), x[:-bpp]])
        ul = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
        p = left + up - ul
        paeth = np.where((abs(p - left) <= abs(p - up)) & (abs(p - left) <= abs(p - ul)), left,
                         np.where(abs(p - up) <= abs(p - ul), up, ul))
        pred = [0, left, up, (left + up) // 2, paeth][y % 5]
        rows.append(bytes([y % 5]) + ((x - pred) % 256).astype(np.uint8).tobytes())

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    head = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2 if c == 3 else 6, 0, 0, 0))
    if exif is not None:
        head += chunk(b"eXIf", exif)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + head + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


@pytest.fixture
def rgb16() -> np.ndarray:
    """Random 16-bit values: the low byte carries information the high byte does not."""
    return np.random.default_rng(0).integers(0, 65536, (11, 13, 3), dtype=np.uint16)


def _exact(img: np.ndarray, arr: np.ndarray) -> None:
    assert img.dtype == np.float32 and img.shape == arr.shape
    assert np.abs(img.astype(np.float64) * 65535 - arr).max() < 0.01
    # an 8-bit read (high byte only) is off by up to 255 levels of 65535: this test would see it
    assert np.abs((arr >> 8).astype(np.float64) * 257 - arr).max() > 100


@pytest.mark.parametrize("kw", [{}, {"compression": "zlib"}, {"planarconfig": "separate"}],
                         ids=["raw", "zlib", "planar"])
def test_tiff_rgb16_full_precision(tmp_path, rgb16, kw):
    data = np.moveaxis(rgb16, -1, 0) if kw.get("planarconfig") == "separate" else rgb16
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="rgb", **kw)
    assert np.asarray(Image.open(tmp_path / "a.tif")).dtype == np.uint8  # what Pillow alone gives
    _exact(read_image(tmp_path / "a.tif"), rgb16)


def test_png_rgb16_full_precision_every_filter(tmp_path, rgb16):
    _png16(tmp_path / "a.png", rgb16)
    assert np.asarray(Image.open(tmp_path / "a.png")).dtype == np.uint8  # what Pillow alone gives
    _exact(read_image(tmp_path / "a.png"), rgb16)


def test_png_rgba16_drops_alpha_keeps_precision(tmp_path):
    rgba = np.random.default_rng(1).integers(0, 65536, (7, 6, 4), dtype=np.uint16)
    _png16(tmp_path / "a.png", rgba)
    with pytest.warns(ImageWarning, match="alpha channel dropped"):
        img = read_image(tmp_path / "a.png")
    _exact(img, rgba[..., :3])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_png_rgb16_exif_orientation_as_pillow(tmp_path, rgb16, orientation):
    """Upright as ImageOps.exif_transpose shows the same image at 8 bits."""
    from PIL import ImageOps

    exif = Image.Exif()
    exif[0x0112] = orientation
    raw = exif.tobytes()
    _png16(tmp_path / "a.png", rgb16, exif=raw[6:] if raw.startswith(b"Exif\x00\x00") else raw)
    img = read_image(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        upright8 = np.asarray(ImageOps.exif_transpose(im))
    assert img.shape == upright8.shape
    assert np.array_equal((np.round(img * 65535).astype(np.uint16) >> 8).astype(np.uint8), upright8)
    if orientation == 1:
        _exact(img, rgb16)


def test_png_rgb16_interlaced(tmp_path, rgb16):
    """Adam7: the seven passes (filter None) of a 16-bit RGB PNG."""
    h, w, _ = rgb16.shape
    raw = b""
    for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
                           (1, 0, 2, 1)]:
        sub = rgb16[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.astype(">u2").tobytes() for row in sub)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    (tmp_path / "i.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 1))
                                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with Image.open(tmp_path / "i.png") as im:
        assert im.info.get("interlace") == 1
    _exact(read_image(tmp_path / "i.png"), rgb16)
