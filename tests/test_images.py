"""Image reading: grayscale, RGBA, 16-bit, corrupt and truncated files; atomic writes."""

from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from pngan.errors import ImageError
from pngan.io.images import ImageWarning, list_images, read_image, write_image


def _png16_rgb(path, arr: np.ndarray) -> None:
    """Write a 16-bit RGB PNG by hand (Pillow cannot write 48-bit RGB)."""
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_rgb_round_trip(tmp_path, rng):
    img = rng.random((17, 23, 3)).astype(np.float32)
    write_image(tmp_path / "a.png", img)
    back = read_image(tmp_path / "a.png")
    assert back.shape == (17, 23, 3) and back.dtype == np.float32
    assert np.abs(back - img).max() <= 0.5 / 255 + 1e-6


def test_grayscale_expanded_with_warning(tmp_path):
    Image.fromarray(np.full((8, 9), 128, np.uint8)).save(tmp_path / "g.png")
    with pytest.warns(ImageWarning, match="grayscale"):
        img = read_image(tmp_path / "g.png")
    assert img.shape == (8, 9, 3) and np.allclose(img, 128 / 255)


def test_rgba_drops_alpha_with_warning(tmp_path):
    arr = np.zeros((4, 5, 4), np.uint8)
    arr[..., 0], arr[..., 3] = 200, 10
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    with pytest.warns(ImageWarning, match="alpha"):
        img = read_image(tmp_path / "a.png")
    assert img.shape == (4, 5, 3) and np.allclose(img[..., 0], 200 / 255)


def test_16bit_gray_and_rgb_scaled(tmp_path):
    gray = np.array([[0, 32768, 65535]], np.uint16)
    Image.fromarray(gray).save(tmp_path / "g16.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageWarning)
        img = read_image(tmp_path / "g16.png")
    assert np.allclose(img[0, :, 0], [0.0, 32768 / 65535, 1.0], atol=1e-6)
    rgb = np.zeros((2, 3, 3), np.uint16)
    rgb[0, 0] = (65535, 32768, 0)
    _png16_rgb(tmp_path / "c16.png", rgb)
    img = read_image(tmp_path / "c16.png")
    # Pillow alone decodes 48-bit RGB to 8 bits; read_image keeps all 16 (tests/test_images_16bit.py).
    assert img.shape == (2, 3, 3) and np.allclose(img[0, 0], [1.0, 32768 / 65535, 0.0], atol=1e-7)


def test_corrupt_truncated_missing(tmp_path, rng):
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(ImageError, match="cannot decode"):
        read_image(tmp_path / "junk.png")
    write_image(tmp_path / "full.png", rng.random((64, 64, 3)))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: cannot decode"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(ImageError, match="no such image"):
        read_image(tmp_path / "missing.png")


def test_list_images_errors(tmp_path):
    with pytest.raises(ImageError, match="no such folder"):
        list_images(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImageError, match="has no images"):
        list_images(tmp_path)


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch, rng):
    write_image(tmp_path / "a.png", rng.random((4, 4, 3)))
    before = (tmp_path / "a.png").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        write_image(tmp_path / "a.png", rng.random((4, 4, 3)))
    assert (tmp_path / "a.png").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
