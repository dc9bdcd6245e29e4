"""The bad-input corpus: awkward or broken files, each made here from scratch (no downloads).

Each image case writes one file into a folder and says what the toolkit should do
with it: ``"ok"`` (read, possibly with a warning) or ``"bad"`` (refused with a
one-line error naming the file, other files still processed).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG") if mode else Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **kw)
    return buf.getvalue()


def _bomb_png() -> bytes:
    """A valid 16x16 PNG whose header claims 40000 x 40000 pixels (a decompression bomb)."""
    data = bytearray(_png_bytes(_rgb(16, 16)))
    ihdr = 8  # signature, then the IHDR chunk: length(4) type(4) data(13) crc(4)
    body = bytearray(data[ihdr + 8: ihdr + 8 + 13])
    body[0:8] = struct.pack(">II", 40000, 40000)
    data[ihdr + 8: ihdr + 21] = body
    data[ihdr + 21: ihdr + 25] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(body)))
    return bytes(data)


def _exif_rotated() -> bytes:
    """A 24x40 (W x H) JPEG stored landscape 40x24 with EXIF orientation 6 (rotate 90 CW to view)."""
    arr = _rgb(24, 40)
    arr[:, :8] = 255  # a white band on the stored image's left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    return _jpeg_bytes(Image.fromarray(arr), exif=exif.tobytes())


def _write(data: bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(data)

    return make


def _save(make_img: Callable[[], Image.Image], fmt: str = "PNG") -> Callable[[Path], None]:
    def make(path: Path) -> None:
        make_img().save(path, format=fmt)

    return make


@dataclass(frozen=True)
class ImageCase:
    """One awkward image file: its name, how to write it, and the expected outcome."""

    name: str
    filename: str
    make: Callable[[Path], None]
    expect: str  # "ok" or "bad"
    shape: tuple[int, int] | None = None  # (H, W) as read, for "ok" cases


def _truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


GOOD_PNG = _png_bytes(_rgb(24, 32))
GOOD_JPEG = _jpeg_bytes(Image.fromarray(_rgb(24, 32)))


def _palette() -> Image.Image:
    return Image.fromarray(_rgb(24, 32)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)


def _palette_transparent() -> Image.Image:
    im = _palette()
    im.info["transparency"] = 0
    return im


IMAGE_CASES: list[ImageCase] = [
    ImageCase("truncated-png", "cut.png", _write(_truncated(GOOD_PNG, 0.6)), "bad"),
    ImageCase("truncated-jpeg", "cut.jpg", _write(_truncated(GOOD_JPEG, 0.5)), "bad"),
    ImageCase("png-header-only", "header.png", _write(GOOD_PNG[:40]), "bad"),
    ImageCase("zero-bytes", "empty.png", _write(b""), "bad"),
    ImageCase("text-as-png", "notes.png", _write(b"this is not an image\n" * 20), "bad"),
    ImageCase("random-bytes-jpeg", "noise.jpg", _write(np.random.default_rng(1).bytes(4096)), "bad"),
    ImageCase("decompression-bomb", "bomb.png", _write(_bomb_png()), "bad"),
    ImageCase("grayscale", "gray.png", _write(_png_bytes(_rgb(24, 32)[:, :, 0], "L")), "ok", (24, 32)),
    ImageCase("gray-alpha", "gray_alpha.png", _save(lambda: Image.fromarray(_rgb(24, 32)).convert("LA")), "ok",
              (24, 32)),
    ImageCase("rgba", "rgba.png", _save(lambda: Image.fromarray(_rgb(24, 32)).convert("RGBA")), "ok", (24, 32)),
    ImageCase("palette", "palette.png", _save(_palette), "ok", (24, 32)),
    ImageCase("palette-transparent", "palette_t.png", _save(_palette_transparent), "ok", (24, 32)),
    ImageCase("one-bit", "bilevel.png", _save(lambda: Image.fromarray(_rgb(24, 32)).convert("1")), "ok", (24, 32)),
    ImageCase("16-bit-gray", "gray16.png",
              _save(lambda: Image.fromarray(np.random.default_rng(2).integers(0, 65536, (24, 32)).astype(np.uint16))),
              "ok", (24, 32)),
    ImageCase("16-bit-rgb-tiff", "rgb16.tif",
              lambda p: _write_rgb16_tiff(p), "ok", (24, 32)),
    ImageCase("float-tiff", "float.tif",
              _save(lambda: Image.fromarray(np.random.default_rng(3).random((24, 32), dtype=np.float32)), "TIFF"),
              "ok", (24, 32)),
    ImageCase("float-tiff-nan", "nan.tif",
              _save(lambda: Image.fromarray(np.full((24, 32), np.nan, np.float32)), "TIFF"), "bad"),
    ImageCase("cmyk-jpeg", "cmyk.jpg", _write(_jpeg_bytes(Image.fromarray(_rgb(24, 32)).convert("CMYK"))), "ok",
              (24, 32)),
    ImageCase("exif-rotated-jpeg", "rotated.jpg", _write(_exif_rotated()), "ok", (40, 24)),
    ImageCase("one-pixel", "dot.png", _write(_png_bytes(_rgb(1, 1))), "ok", (1, 1)),
    ImageCase("three-by-five", "tiny.png", _write(_png_bytes(_rgb(3, 5))), "ok", (3, 5)),
    ImageCase("ten-thousand-by-ten", "strip.png", _write(_png_bytes(_rgb(10, 10000))), "ok", (10, 10000)),
    ImageCase("odd-size", "odd.png", _write(_png_bytes(_rgb(37, 53))), "ok", (37, 53)),
    ImageCase("webp", "web.webp", _save(lambda: Image.fromarray(_rgb(24, 32)), "WEBP"), "ok", (24, 32)),
    ImageCase("unicode-and-spaces-name", "bild ñ 图像 01.png", _write(_png_bytes(_rgb(24, 32))), "ok", (24, 32)),
]


def _write_rgb16_tiff(path: Path) -> None:
    """A 16-bit-per-channel RGB TIFF, written with scikit-image's tifffile-free fallback: raw via PIL planes."""
    arr = np.random.default_rng(4).integers(0, 65536, (24, 32, 3)).astype(np.uint16)
    try:
        import tifffile  # type: ignore[import-not-found]

        tifffile.imwrite(path, arr)
    except ImportError:
        from skimage import io as skio

        skio.imsave(path, arr, check_contrast=False)


def image_case(name: str) -> ImageCase:
    return next(c for c in IMAGE_CASES if c.name == name)


def good_image(path: Path, h: int = 24, w: int = 32, seed: int = 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_rgb(h, w, seed)).save(path)
    return path


# Tiny paired images (noisy + clean of the same size) for the commands that read pairs: smaller than
# the SSIM windows (7x7 scikit-image, 11x11 paper) and than an exported network's minimum input.
TINY_PAIRS: list[tuple[str, int, int]] = [("one-pixel", 1, 1), ("three-by-five", 3, 5), ("seven-by-seven", 7, 7)]


def tiny_pair(root: Path, name: str, h: int, w: int, noisy: str = "noisy", clean: str = "clean") -> str:
    """Write ``root/<noisy>/<name>.png`` and ``root/<clean>/<name>.png`` (h x w); returns the stem."""
    good_image(root / noisy / f"{name}.png", h, w, seed=21)
    good_image(root / clean / f"{name}.png", h, w, seed=22)
    return name
