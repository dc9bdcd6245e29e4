"""Image reading and writing: RGB float32 H x W x 3 in [0, 1], with clear errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pngan.io.atomic import atomic_path
from pngan.errors import ImageError, PnganWarning, first_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageWarning(PnganWarning):
    """An image was converted (grayscale expanded, alpha dropped): ``file`` names it, ``change`` says how.

    The CLI says each kind of ``change`` once per command, with the number of images.
    """

    def __init__(self, file: str, change: str, path: str | None = None) -> None:
        super().__init__(f"{file}: {change}")
        self.file, self.change, self.path = file, change, path or file


# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
                7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _rawmode(im: Image.Image) -> str | None:
    """The raw mode of a single-tile image before ``load`` (e.g. ``RGB;16B``), else ``None``."""
    if len(im.tile) != 1:
        return None
    args = tuple(im.tile[0])[3]
    raw = args[0] if isinstance(args, tuple) and args else args
    return raw if isinstance(raw, str) else None


def _wide_rgb(im: Image.Image, path: Path) -> np.ndarray | None:
    """16-bit RGB(A) PNG/TIFF as uint16 (H, W, 3|4) before ``load``; ``None`` for anything else.

    Pillow decodes these to 8 bits (the high byte). A PNG is decoded a second time with the
    little-endian raw mode, whose unpacker keeps the other byte of each sample after the same
    unfiltering, and the two are joined; a TIFF is read with ``tifffile`` (a scikit-image
    dependency). The EXIF orientation is applied as ``ImageOps.exif_transpose`` would.
    16-bit grayscale+alpha PNGs are not handled here and stay at 8 bits.
    """
    if im.mode not in ("RGB", "RGBA"):
        return None
    raw = _rawmode(im)
    if im.format == "PNG" and raw in ("RGB;16B", "RGBA;16B"):
        with Image.open(path) as low:
            low.tile = [tuple(low.tile[0])[:3] + (raw.replace("16B", "16L"),)]
            low.load()
            im.load()
            arr = (np.asarray(im).astype(np.uint16) << 8) | np.asarray(low).astype(np.uint16)
    elif im.format == "TIFF" and tuple(im.tag_v2.get(258, ()))[:3] == (16, 16, 16):
        try:
            import tifffile
        except ImportError:  # pragma: no cover - installed with scikit-image
            return None
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            if page.photometric != tifffile.PHOTOMETRIC.RGB:
                return None
            arr, axes = page.asarray(), page.axes
        if axes.endswith("SYX"):  # planar configuration: channels first
            arr = np.moveaxis(arr, -3, -1)
        arr = arr.reshape(arr.shape[-3:])
        if arr.dtype != np.uint16 or arr.shape[2] not in (3, 4):
            return None
    else:
        return None
    method = _ORIENTATION.get(im.getexif().get(0x0112, 1))
    if method is not None:  # transpose each byte plane as an 8-bit image (Pillow has no 16-bit RGB mode)
        planes = [np.asarray(Image.fromarray(np.ascontiguousarray((arr >> s).astype(np.uint8))).transpose(method))
                  for s in (8, 0)]
        arr = (planes[0].astype(np.uint16) << 8) | planes[1]
    return np.ascontiguousarray(arr)


def _to_float(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype in (np.uint16, np.int32, np.uint32) or arr.dtype.kind in "iu":
        # PIL reads 16-bit PNGs as int32 ('I' mode) or uint16 ('I;16').
        return np.clip(arr.astype(np.float32) / 65535.0, 0.0, 1.0)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ImageError(f"{name}: image has NaN or infinite pixel values")
        return np.clip(arr.astype(np.float32), 0.0, 1.0)
    raise ImageError(f"{name}: unsupported pixel type {arr.dtype}")


def _decode(im: Image.Image, name: str) -> np.ndarray:
    """Pillow's pixels, upright, as float (H, W) or (H, W, C)."""
    im.load()
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("RGB", "L", "RGBA", "LA", "F") or mode.startswith("I"):
        return _to_float(np.asarray(im), name)  # 'I', 'I;16*': 16-bit grayscale, scaled by 65535
    if mode in ("P", "PA"):
        has_alpha = "transparency" in im.info or mode == "PA"
        return _to_float(np.asarray(im.convert("RGBA" if has_alpha else "RGB")), name)
    return _to_float(np.asarray(im.convert("RGB")), name)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as RGB float32 (H, W, 3) in [0, 1].

    Grayscale is expanded to RGB and RGBA loses its alpha (each with an
    ``ImageWarning``); 16-bit images (grayscale, and RGB/RGBA PNG and TIFF, which
    Pillow alone cuts to 8 bits) are read at full precision and scaled by 65535;
    32-bit float images (TIFF mode ``F``) are taken as [0, 1] and must be finite. The EXIF
    orientation is applied, so the array is the image as a viewer shows it.
    Corrupt, truncated or decompression-bomb files raise ``ImageError`` with a
    one-line message.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"{p}: no such image file")
    try:
        with Image.open(p) as im:
            wide = _wide_rgb(im, p)
            img = _to_float(wide, p.name) if wide is not None else _decode(im, p.name)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(f"{p}: refused, {first_line(e)}") from None
    except Exception as e:  # noqa: BLE001 - a decoder fed a hostile file can raise anything; it is still bad input
        raise ImageError(f"{p}: cannot decode image ({type(e).__name__}: {first_line(e, empty='corrupt')})") from None
    if img.ndim == 2:
        warnings.warn(ImageWarning(p.name, "grayscale image expanded to RGB", str(p)), stacklevel=2)
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 2:  # LA
        warnings.warn(ImageWarning(p.name, "grayscale+alpha image: alpha dropped, expanded to RGB", str(p)),
                      stacklevel=2)
        img = np.repeat(img[:, :, :1], 3, axis=2)
    elif img.shape[2] == 4:
        warnings.warn(ImageWarning(p.name, "RGBA image: alpha channel dropped", str(p)), stacklevel=2)
        img = img[:, :, :3]
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageError(f"{p}: empty image")
    return np.ascontiguousarray(img, dtype=np.float32)


def _check_pixels(img: np.ndarray, what: str) -> np.ndarray:
    """``img`` as an array of real, finite numbers; ``ImageError`` otherwise."""
    arr = np.asarray(img)
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"{what}: pixel type {arr.dtype} is not a real number type")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ImageError(f"{what}: image has NaN or infinite pixel values")
    return arr


def to_uint8(img: np.ndarray) -> np.ndarray:
    """An image as 8-bit with rounding (as saved images are), scaled as ``read_image`` scales.

    uint8 is returned as is, other integers are 16-bit (65535 -> 255), bool is 0/255 and
    floats are clipped to [0, 1]. NaN, infinities and non-real types raise ``ImageError``.
    """
    arr = _check_pixels(img, "to_uint8")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    scale = 65535.0 if arr.dtype.kind in "iu" else 1.0
    return (np.clip(arr.astype(np.float64) / scale, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


_WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def write_image(path: str | os.PathLike, img: np.ndarray) -> None:
    """Atomically write an 8-bit image: float [0, 1], uint8 or uint16, shaped (H, W), (H, W, 3) or (H, W, 4).

    The format follows the suffix (PNG for anything unknown); JPEG drops an alpha channel.
    """
    p = Path(path)
    arr = to_uint8(img)
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or 0 in arr.shape:
        raise ImageError(f"{p}: cannot write an array of shape {arr.shape} as an image "
                         "(need H x W, H x W x 3 or H x W x 4)")
    fmt = _WRITE_FORMATS.get(p.suffix.lower(), "PNG")
    if fmt == "JPEG" and arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    with atomic_path(p) as tmp:
        Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format=fmt)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Sorted image files in ``folder``; ``ImageError`` if it is missing or has none."""
    d = Path(folder)
    if not d.is_dir():
        raise ImageError(f"{d}: no such folder")
    files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(f"{d}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def to_tensor_batch(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (1, 3, H, W) float32 contiguous; ``ImageError`` for any other layout."""
    arr = _check_pixels(img, "to_tensor_batch")
    if arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ImageError(f"to_tensor_batch: need an H x W x 3 image, got shape {arr.shape}")
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None], dtype=np.float32)


def from_tensor_batch(arr: np.ndarray) -> np.ndarray:
    """(1, 3, H, W) -> (H, W, 3); ``ImageError`` for any other layout (a batch of several included)."""
    arr = _check_pixels(arr, "from_tensor_batch")
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[1] != 3 or 0 in arr.shape:
        raise ImageError(f"from_tensor_batch: need a 1 x 3 x H x W batch, got shape {arr.shape}")
    return np.ascontiguousarray(arr[0].transpose(1, 2, 0))
