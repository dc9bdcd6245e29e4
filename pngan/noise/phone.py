"""Smartphone sRGB noise fitted to real phone pairs: correlated Gaussian noise with per-channel levels.

What real phone photos (SIDD sRGB) show, measured on ``sidd12/train`` (``noisy - clean``): a noise level nearly
flat over intensity (the phone's ISP has already tone-mapped and partly denoised it), red and blue about 1.4x
and 1.5x green, neighbouring pixels correlated (lag-1 about 0.44, from demosaicing and the ISP's filtering) and
the three channels weakly correlated with each other (about 0.23). A camera pipeline with a colour matrix gives
the wrong sign there (about -0.37), which is why this model exists beside :mod:`pngan.noise.camera`.

The model: four white Gaussian fields, each blurred by a Gaussian of std ``blur`` pixels and brought back to
unit variance; channel ``c`` is ``sqrt(rho) * common + sqrt(1 - rho) * own_c``, scaled by ``green_std *
ratios[c]`` (0-255 scale), added to the clean image, clipped to [0, 1] and quantized to 8 bits.

:func:`fit_phone_noise` estimates the parameters from pairs: ratios and ``rho`` from the residuals, ``blur``
so that the model's lag-1 autocorrelation equals the residuals', and the range of per-image green levels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from pngan.errors import PnganError
from pngan.noise.awgn import RngLike, as_generator, check_image, quantize_8bit

MIN_SIDE = 16  # a residual smaller than this gives no lag-1 estimate worth the name


@dataclass(frozen=True)
class PhoneNoiseParams:
    """One draw of phone noise: green std (0-255), R/G/B level ratios, spatial blur (px), channel correlation."""

    green_std: float
    ratios: tuple[float, float, float] = (1.4, 1.0, 1.5)
    blur: float = 0.6
    rho: float = 0.23

    def __post_init__(self) -> None:
        if not (self.green_std >= 0 and self.blur >= 0 and 0 <= self.rho < 1 and len(self.ratios) == 3
                and min(self.ratios) > 0):
            raise PnganError(f"phone noise needs green_std >= 0, blur >= 0, 0 <= rho < 1 and three positive "
                             f"ratios, got {self}")


@dataclass(frozen=True)
class PhoneFit:
    """Phone noise fitted to pairs: the shared shape and the range of per-image green levels (0-255)."""

    ratios: tuple[float, float, float]
    blur: float
    rho: float
    lag1: float
    green_std_range: tuple[float, float]
    images: int

    def params(self, green_std: float) -> PhoneNoiseParams:
        return PhoneNoiseParams(green_std, self.ratios, self.blur, self.rho)

    def to_json(self) -> dict:
        return asdict(self)


def _blurred(z: np.ndarray, blur: float) -> np.ndarray:
    """``z`` (H, W, K) with each plane blurred by a Gaussian of std ``blur`` (wrapping), back to unit variance."""
    if blur <= 0:
        return z
    from scipy.ndimage import gaussian_filter

    out = np.stack([gaussian_filter(z[..., k], blur, mode="wrap") for k in range(z.shape[-1])], -1)
    return out / out.reshape(-1, z.shape[-1]).std(0)


def phone_field(shape: tuple[int, int], rng: RngLike, blur: float, rho: float) -> np.ndarray:
    """Unit-variance (H, W, 3) noise with lag correlation from ``blur`` and channel correlation ``rho``."""
    z = _blurred(as_generator(rng).standard_normal((*shape, 4)), blur)
    return np.sqrt(rho) * z[..., 3:] + np.sqrt(1 - rho) * z[..., :3]


def add_phone_noise(clean: np.ndarray, rng: RngLike, params: PhoneNoiseParams) -> np.ndarray:
    """``clean`` (H, W, 3) in [0, 1] with phone noise of ``params``, clipped and quantized to 8 bits."""
    check_image(clean)
    if clean.ndim != 3 or clean.shape[-1] != 3:
        raise PnganError(f"phone noise needs an H x W x 3 image, got {clean.shape}")
    n = phone_field(clean.shape[:2], rng, params.blur, params.rho)
    scale = np.asarray(params.ratios, np.float64) * params.green_std / 255.0
    return quantize_8bit(np.clip(clean + n * scale, 0.0, 1.0)).astype(np.float32)


def lag1(e: np.ndarray) -> float:
    """Mean over channels of the horizontal and vertical lag-1 autocorrelation of ``e`` (H, W, C)."""
    x = e - e.mean(axis=(0, 1))
    var = (x * x).mean(axis=(0, 1))
    h = (x[:, 1:] * x[:, :-1]).mean(axis=(0, 1)) / var
    v = (x[1:] * x[:-1]).mean(axis=(0, 1)) / var
    return float(np.mean((h + v) / 2))


def blur_for_lag1(target: float, side: int = 256, seed: int = 0) -> float:
    """The ``blur`` whose field has lag-1 autocorrelation ``target`` (bisection on a seeded field)."""
    if not 0 <= target < 0.95:
        raise PnganError(f"a lag-1 autocorrelation in [0, 0.95) is needed to fit the blur, got {target:.3f}")
    z = np.random.default_rng(seed).standard_normal((side, side, 1))
    if target <= lag1(z) + 0.01:  # white within measuring error
        return 0.0
    lo, hi = 0.0, 4.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if lag1(_blurred(z, mid)) < target else (lo, mid)
    return round((lo + hi) / 2, 4)


def fit_phone_noise(clean: Sequence[np.ndarray], noisy: Sequence[np.ndarray]) -> PhoneFit:
    """Fit :class:`PhoneFit` to pairs (H, W, 3 in [0, 1]); saturated pixels (clean at 0 or 1) are left out."""
    if not clean or len(clean) != len(noisy):
        raise PnganError("fitting phone noise needs as many clean as noisy images, and at least one")
    stds, cross, lags = [], [], []
    for c, n in zip(clean, noisy):
        if c.shape != n.shape or c.ndim != 3 or c.shape[-1] != 3 or min(c.shape[:2]) < MIN_SIDE:
            raise PnganError(f"each pair needs two H x W x 3 images of the same size, {MIN_SIDE} px or more a "
                             f"side; got {c.shape} and {n.shape}")
        e = (n.astype(np.float64) - c.astype(np.float64))
        keep = ((c > 2 / 255) & (c < 253 / 255)).all(-1)
        if keep.sum() < MIN_SIDE * MIN_SIDE:
            raise PnganError("a pair is saturated almost everywhere: no noise to measure")
        flat = e[keep] - e[keep].mean(0)
        s = flat.std(0)
        if s[1] * 255 < 0.5:
            raise PnganError("a pair has (almost) no noise (green std < 0.5 on 0-255): not a noisy photo")
        stds.append(s)
        corr = np.corrcoef(flat.T)
        cross.append(np.mean([corr[0, 1], corr[0, 2], corr[1, 2]]))
        lags.append(lag1(e))
    stds = np.array(stds)
    ratios = tuple(round(float(v), 4) for v in np.median(stds / stds[:, 1:2], axis=0))
    rho = float(np.clip(np.mean(cross), 0.0, 0.95))
    lag = float(np.mean(lags))
    green = stds[:, 1] * 255
    return PhoneFit(ratios, blur_for_lag1(lag), round(rho, 4), round(lag, 4),
                    (round(float(green.min()), 3), round(float(green.max()), 3)), len(clean))
