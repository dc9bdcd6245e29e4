"""Additive white Gaussian noise (AWGN), as in PNGAN's ``Gaussian_noise`` X30/X50/X70 sets.

Also holds the small helpers shared by every noise model in this package.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from pngan.errors import ImageError, PnganError

RngLike = Union[np.random.Generator, int, None]


def as_generator(rng: RngLike) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, a seed int or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        if rng is not None and rng < 0:
            raise PnganError(f"an rng seed must be >= 0, got {rng}")
        return np.random.default_rng(rng)
    raise PnganError(
        f"rng must be a numpy.random.Generator or an int seed, not {type(rng).__name__}"
    )


def check_image(img: np.ndarray) -> np.ndarray:
    """Validate an H×W×3 image; return it as float32 (uint8 input is scaled by 1/255)."""
    if isinstance(img, torch.Tensor):
        raise ImageError("expected a numpy H×W×3 image; use the *_torch variant for tensors")
    try:
        arr = np.asarray(img)
    except ValueError as e:  # ragged nested sequences
        raise ImageError(f"expected an H×W×3 RGB image, got a ragged array ({e})") from None
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ImageError(f"expected an H×W×3 RGB image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ImageError(f"expected a float image in [0, 1] or uint8, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():  # NaN would pass through silently (or crash exact Poisson sampling)
        raise ImageError("image has NaN or infinite values")
    return arr


def quantize_8bit(img: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to 8-bit levels, as when the image is saved as PNG."""
    return (np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def file_rng(seed: int, name: str, sigma: float) -> np.random.Generator:
    """The generator ``pngan noise`` draws an image's noise from: ``(seed, crc32(file name), sigma)``, so a
    file's noise does not depend on the order or number of files."""
    import zlib

    return np.random.default_rng([seed, zlib.crc32(name.encode()), int(round(sigma * 1000))])


def add_awgn(img: np.ndarray, sigma: float, rng: RngLike, quantize: bool = True) -> np.ndarray:
    """``img + sigma/255 * randn`` (σ on the 0–255 scale); 8-bit quantized if ``quantize``."""
    try:
        ok = bool(np.isfinite(sigma) and sigma >= 0)
    except (TypeError, ValueError):  # a string, None, an array
        ok = False
    if not ok:
        raise PnganError(f"sigma must be a finite number >= 0 (0-255 scale), got {sigma!r}")
    x = check_image(img)
    noise = as_generator(rng).standard_normal(x.shape, dtype=np.float32)
    y = x + np.float32(sigma / 255.0) * noise
    return quantize_8bit(y) if quantize else y


def awgn_torch(
    x: torch.Tensor,
    sigma: Union[float, torch.Tensor],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``x + sigma/255 * randn`` for N×C×H×W tensors; ``sigma`` scalar or per-sample (N,).

    No clipping or quantization (training use).
    """
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device) / 255.0
    if s.ndim == 1:
        s = s.view(-1, *([1] * (x.ndim - 1)))
    elif s.ndim != 0:
        raise PnganError(f"sigma must be a scalar or a (N,) tensor, got shape {tuple(s.shape)}")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + s * noise
