"""PSNR and SSIM on 8-bit images, as the official PNGAN test code computes them.

Both quantize float [0, 1] images to uint8 with rounding first (the official
code saves and compares 8-bit images). SSIM is scikit-image's
``structural_similarity`` on RGB (``channel_axis=-1``, ``data_range=255``,
7x7 uniform window, the library's defaults), averaged over channels; an image side
shorter than the window has no SSIM (``nan``). ``pngan denoise`` offers these as
``--metrics skimage``; its default is the paper's definition (``pngan.metrics.paper``).
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from pngan.io.images import to_uint8


SKIMAGE_WINDOW = 7


def _u8(img: np.ndarray) -> np.ndarray:
    return img if img.dtype == np.uint8 else to_uint8(img)


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two images (uint8, or float [0, 1] quantized to 8-bit first)."""
    x, y = _u8(a).astype(np.float64), _u8(b).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"PSNR needs equal shapes, got {x.shape} and {y.shape}")
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def psnr_float(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two float arrays in [0, 1] without quantization (parity checks)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two RGB (H, W, 3) images on the 8-bit scale; ``nan`` when a side is under 7 pixels."""
    x, y = _u8(a), _u8(b)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs equal shapes, got {x.shape} and {y.shape}")
    if min(x.shape[:2]) < SKIMAGE_WINDOW:
        return float("nan")
    return float(structural_similarity(x, y, channel_axis=-1, data_range=255))
