"""PSNR and SSIM as the official PNGAN / MIRNet test code computes them (the paper's tables).

* PSNR (``psnr_paper``): on float images clamped to [0, 1], no quantization;
  ``20 log10(1 / RMSE)`` with the mean squared error over all pixels and RGB channels.
* SSIM (``ssim_paper``): on the luma channel only, ``Y = 16 + (65.481 R + 128.553 G +
  24.966 B)`` on the 0..255 scale (MATLAB's ``rgb2ycbcr`` for [0, 1] input), the classic
  MATLAB-style SSIM of Wang et al.: an 11 x 11 Gaussian window with sigma 1.5 (normalized
  to sum 1), ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``, population (biased) local
  variances, and the mean of the SSIM map over the *valid* region only (window centres at
  least 5 pixels from every border), so an image side shorter than 11 pixels has no SSIM
  (``nan``).

Written from the definitions above; results agree with the official code up to its
float32 arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

WINDOW = 11
SIGMA = 1.5
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # MATLAB rgb2ycbcr, for [0, 1] RGB to the 0..255 scale


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """1-D Gaussian taps ``exp(-(i - c)^2 / (2 sigma^2))`` normalized to sum 1 (the 2-D window is their outer product)."""
    i = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(i**2) / (2 * sigma**2))
    return g / g.sum()


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Luma Y on the 0..255 scale (16..235) of a float RGB (H, W, 3) image in [0, 1]."""
    arr = np.asarray(img, np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"rgb_to_y needs an H x W x 3 image, got shape {arr.shape}")
    return arr @ _Y_WEIGHTS + 16.0


def _filter_valid(a: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable correlation of 2-D ``a`` with ``taps`` along both axes, valid region only."""
    k = len(taps)
    h, w = a.shape[0] - k + 1, a.shape[1] - k + 1
    rows = sum(t * a[i:i + h] for i, t in enumerate(taps))
    return sum(t * rows[:, j:j + w] for j, t in enumerate(taps))


def ssim_map_y(y1: np.ndarray, y2: np.ndarray, size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """The SSIM map (valid region) of two single-channel images on the 0..255 scale."""
    a, b = np.asarray(y1, np.float64), np.asarray(y2, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"SSIM needs two equal 2-D images, got {a.shape} and {b.shape}")
    if min(a.shape) < size:
        return np.zeros((max(a.shape[0] - size + 1, 0), max(a.shape[1] - size + 1, 0)))
    g = gaussian_window(size, sigma)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = _filter_valid(a, g), _filter_valid(b, g)
    s11 = _filter_valid(a * a, g) - mu1**2
    s22 = _filter_valid(b * b, g) - mu2**2
    s12 = _filter_valid(a * b, g) - mu1 * mu2
    return ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))


def ssim_paper(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM on the Y channel of two float RGB images in [0, 1] (clamped); ``nan`` below 11 x 11."""
    x, y = _clamped(a, b, "SSIM")
    m = ssim_map_y(rgb_to_y(x), rgb_to_y(y))
    return float(m.mean()) if m.size else float("nan")


def psnr_paper(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two float images clamped to [0, 1]: ``20 log10(1 / RMSE)`` over all channels."""
    x, y = _clamped(a, b, "PSNR")
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else -10.0 * math.log10(mse)


def _clamped(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_unit_float(a), _as_unit_float(b)
    if x.shape != y.shape:
        raise ValueError(f"{what} needs equal shapes, got {x.shape} and {y.shape}")
    return x, y


def _as_unit_float(img: np.ndarray) -> np.ndarray:
    """uint8 images as /255, floats clamped to [0, 1], both float64."""
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    return np.clip(arr.astype(np.float64), 0.0, 1.0)
