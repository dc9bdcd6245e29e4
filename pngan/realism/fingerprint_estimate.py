"""The noise of noisy photos alone, measured in their flattest patches (the estimator of ``pngan noise-profile``).

1. Each photo is cut into ``PATCH`` x ``PATCH`` patches, ``STRIDE`` apart (on the 8x8 grid); a plane is fitted
   to each patch and channel and removed. The residual variance is noise plus what texture a plane cannot
   follow; being the variance of the whole 32x32 residual, not of a high-pass, it keeps the power of
   spatially correlated noise (demosaicing, ISP, JPEG) down to the patch scale.
2. Texture test (:func:`noise_shaped`): texture adds low frequencies, so a patch whose low-band over high-band
   power exceeds ``SHAPE_MAX`` times that of the flattest patches is texture, whatever its noise level.
3. Per intensity bin (``BINS`` over [0, 1], by the patch mean) and channel, iterate from the median of the
   remaining patches: a patch's score is its variance over its bins' levels (mean of R, G, B); patches scoring
   below ``1 + THRESHOLD_SD`` standard deviations of a noise-only score are noise, and their mean variance per
   bin is the next level. The standard deviation of a noise-only score comes from the noise's own
   autocorrelation and channel correlation (:func:`score_spread`): correlated noise has fewer independent
   values per patch, so its patch variances spread wider and a fixed cut would bias it low.
4. From the selected residuals: lag-1 autocorrelation, correlation between channels, the spectrum tilt (mean
   power in ``HIGH_BAND`` over ``LOW_BAND``, dB) and the 8x8 blockiness.

The constants were chosen on ``polyu100/train`` and ``sidd12/train`` (docs/noise-realism.md). Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pngan.errors import PnganError

PATCH, STRIDE = 32, 16
BINS = 8
MIN_PATCHES = 6  # fewest usable (and selected) patches a photo needs
MIN_BIN_PATCHES = 3  # fewer selected patches in a bin: no level there (per photo, and for all photos)
CLIPPED_MAX = 0.5  # a patch with more of its values at 0 or 255 in any channel is not used
CONSTANT = 1e-3  # nor one whose residual variance is below this in every channel (a constant fill)
THRESHOLD_SD, ITERATIONS, START_PERCENTILE = 4.0, 8, 10.0
MAX_LAG = 4
LEVEL_FLOOR = 1 / 12  # the variance of 8-bit rounding: a level below it is scored as this
NO_NOISE = 0.5  # pooled green std (0-255) below this: "no measurable noise" (8-bit rounding alone is 0.29)
LOW_BAND, HIGH_BAND = (0.06, 0.2), (0.3, 0.5)  # cycles/pixel, for the spectrum tilt
SHAPE_LOW, SHAPE_MAX = (0.03, 0.12), 2.5  # the texture test: low band, and its most over the noise's
TEXTURE_PHOTO = 3.0  # a photo whose shape reference exceeds this times the photos' median has no flat area
BLOCK = 8


class FingerprintError(PnganError, ValueError):
    """Photos a noise fingerprint cannot be measured on (too small, saturated, noise-free)."""


@dataclass(frozen=True)
class ImageNoise:
    """What one photo's noise-only patches show; variances on the 0-255 scale, per channel."""

    name: str
    bin_var: np.ndarray  # (BINS, 3) mean residual variance of the selected patches per bin; NaN where none
    bin_count: np.ndarray  # (BINS, 3) selected patches per bin
    pixels: np.ndarray  # (BINS, 3) pixels of the photo per bin, by its local (patch) mean: noise does not move it
    level: np.ndarray  # (3,) mean variance over the selected patches
    lag1: float
    between_channels: np.ndarray  # (3,) RG, RB, GB
    tilt_db: float
    blockiness: float
    patches: int  # selected patches
    shape_reference: float  # low-band over high-band power of its flattest patches (:func:`noise_shaped`)


@lru_cache(maxsize=4)
def _plane_basis(p: int) -> np.ndarray:
    """Orthonormal basis (p*p, 3) of the planes over a p x p patch."""
    y, x = np.mgrid[0:p, 0:p] / (p - 1) - 0.5
    q, _ = np.linalg.qr(np.stack([np.ones(p * p), x.ravel(), y.ravel()], 1))
    return q


def patch_residuals(img: np.ndarray, name: str = "image"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(means (N, 3), variances (N, 3), residuals (N, 3, P, P), usable (N,))`` on the 0-255 scale."""
    if np.ndim(img) != 3 or np.shape(img)[2] != 3:
        raise FingerprintError(f"{name}: expected an (H, W, 3) image, got shape {np.shape(img)}")
    h, w = img.shape[:2]
    if min(h, w) < PATCH:
        raise FingerprintError(f"{name} is {w}x{h}: the noise estimator needs at least {PATCH}x{PATCH} pixels "
                               f"(its patch)")
    x = np.asarray(img, np.float32) * np.float32(255)
    win = sliding_window_view(x, (PATCH, PATCH), axis=(0, 1))[::STRIDE, ::STRIDE]
    flat = win.reshape(-1, 3, PATCH * PATCH)
    clipped = ((flat <= 0.5) | (flat >= 254.5)).mean(-1).max(-1)
    q = _plane_basis(PATCH).astype(np.float32)
    res = flat - (flat @ q) @ q.T
    var = np.einsum("ncp,ncp->nc", res, res, dtype=np.float64) / (PATCH * PATCH - 3)
    usable = (clipped < CLIPPED_MAX) & (var.max(1) > CONSTANT)
    return flat.mean(-1, dtype=np.float64), var, res.reshape(-1, 3, PATCH, PATCH), usable


def _autocorrelation(power: np.ndarray) -> np.ndarray:
    """(2L+1, 2L+1) mean normalized circular autocorrelation, from the patches' power spectra."""
    a = np.fft.irfft2(power.sum((0, 1), dtype=np.float64), s=(PATCH, PATCH))
    a = np.fft.fftshift(a / max(a[0, 0], 1e-30))
    c = PATCH // 2
    return a[c - MAX_LAG:c + MAX_LAG + 1, c - MAX_LAG:c + MAX_LAG + 1]


def score_spread(auto: np.ndarray, cross: np.ndarray) -> float:
    """Relative std of a noise-only patch score (mean over channels of variance / level).

    A patch variance of noise with autocorrelation ``auto`` has relative std ``sqrt(2 sum(rho^2) / n)``
    (Gaussian noise); the channels' variances correlate as their noise correlation squared.
    """
    lags = np.arange(-MAX_LAG, MAX_LAG + 1)
    overlap = np.outer(1 - np.abs(lags) / PATCH, 1 - np.abs(lags) / PATCH)
    rel = np.sqrt(2 * float((auto ** 2 * overlap).sum()) / (PATCH * PATCH - 3))
    m = np.ones((3, 3))
    for (i, j), r in zip(((0, 1), (0, 2), (1, 2)), cross):  # RG, RB, GB
        m[i, j] = m[j, i] = r * r
    return rel * np.sqrt(m.sum()) / 3


def _levels(var: np.ndarray, bins: np.ndarray, sel: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """(BINS, 3) mean variance of the selected patches per bin; ``previous`` where a bin has too few."""
    out = previous.copy()
    for c in range(3):
        n = np.bincount(bins[sel, c], minlength=BINS)
        s = np.bincount(bins[sel, c], var[sel, c], minlength=BINS)
        ok = n >= MIN_BIN_PATCHES
        out[ok, c] = s[ok] / n[ok]
    return out


def _power(res: np.ndarray) -> np.ndarray:
    """(N, 3, P, P//2 + 1) power spectrum of each residual (half plane, float32)."""
    f = np.fft.rfft2(res, axes=(-2, -1)).astype(np.complex64)
    return f.real ** 2 + f.imag ** 2


@lru_cache(maxsize=8)
def _band_weights(band: tuple[float, float]) -> np.ndarray:
    """(P, P//2 + 1) weight of each half-plane frequency in a radial band: 2 for a column standing for its
    conjugate too, 1 for the first and the Nyquist column, 0 outside the band."""
    fy, fx = np.meshgrid(np.fft.fftfreq(PATCH), np.fft.rfftfreq(PATCH), indexing="ij")
    r = np.hypot(fy, fx)
    w = np.where((r >= band[0]) & (r < band[1]), 2.0, 0.0)
    w[:, 0] /= 2
    w[:, -1] /= 2
    return w.astype(np.float32)


def _band_power(power: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """(N, 3) summed power in a radial band (cycles/pixel) of each patch and channel."""
    return np.einsum("ncyx,yx->nc", power, _band_weights(band))


def noise_shaped(var: np.ndarray, res: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, float]:
    """``(patches (N,), reference)``: the patches whose residual spectrum has the noise's shape. Texture adds low
    frequencies, so a patch whose low-band over high-band power exceeds ``SHAPE_MAX`` times the reference (that
    of the flattest patches) is texture. A photo with no flat area has texture for a reference: a high one."""
    power = _power(res)
    ratio = _band_power(power, SHAPE_LOW).sum(1) / np.maximum(_band_power(power, HIGH_BAND).sum(1), 1e-30)
    score = (var / np.maximum(np.percentile(var[usable], START_PERCENTILE, axis=0), LEVEL_FLOOR)).mean(1)
    seed = usable & (score <= np.percentile(score[usable], START_PERCENTILE))
    reference = float(np.median(ratio[seed]))
    return usable & (ratio < SHAPE_MAX * reference), reference


def _start_levels(var: np.ndarray, bins: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(BINS, 3) the median variance of the noise-shaped patches per bin (of all of them for a sparse bin)."""
    out = np.tile(np.median(var[ok], axis=0), (BINS, 1))
    for c in range(3):
        for b in range(BINS):
            v = var[ok & (bins[:, c] == b), c]
            if v.size >= MIN_BIN_PATCHES:
                out[b, c] = np.median(v)
    return np.maximum(out, LEVEL_FLOOR)


def _statistics(res: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """``(autocorrelation, between_channels, lag1, tilt_db, blockiness)`` of selected residuals (N, 3, P, P)."""
    power = _power(res)
    auto = _autocorrelation(power)
    var = np.einsum("ncyx,ncyx->", res, res, dtype=np.float64) / (PATCH * PATCH)
    h = np.einsum("ncyx,ncyx->", res[..., 1:], res[..., :-1], dtype=np.float64) / (PATCH * (PATCH - 1))
    v = np.einsum("ncyx,ncyx->", res[..., 1:, :], res[..., :-1, :], dtype=np.float64) / (PATCH * (PATCH - 1))
    lag1 = float((h + v) / 2 / max(var, 1e-30))
    s = np.einsum("nipq,njpq->ij", res, res, dtype=np.float64)
    cross = np.array([s[i, j] / np.sqrt(max(s[i, i] * s[j, j], 1e-30)) for i, j in ((0, 1), (0, 2), (1, 2))])
    low, high = (_band_power(power, b).sum() / _band_weights(b).sum() for b in (LOW_BAND, HIGH_BAND))
    dx, dy = np.diff(res, axis=3) ** 2, np.diff(res, axis=2) ** 2
    edge = (np.arange(PATCH - 1) % BLOCK) == BLOCK - 1
    inside = dx[..., ~edge].sum() + dy[:, :, ~edge].sum()
    across = dx[..., edge].sum() + dy[:, :, edge].sum()
    block = float((across / max(edge.sum(), 1)) / (inside / max((~edge).sum(), 1) + 1e-12))
    return auto, cross, lag1, float(10 * np.log10(max(high, 1e-30) / max(low, 1e-30))), block


def measure_image(img: np.ndarray, name: str = "image") -> ImageNoise:
    """The noise-only patches of one photo (float (H, W, 3) in [0, 1]) and what they show."""
    mean, var, res, usable = patch_residuals(img, name)
    if usable.sum() < MIN_PATCHES:
        raise FingerprintError(f"{name}: too few usable {PATCH}x{PATCH} patches ({int(usable.sum())}; the rest "
                               f"are saturated at 0 or 1, or constant): no noise to measure")
    bins = np.clip((mean / 255 * BINS).astype(np.int64), 0, BINS - 1)
    shaped, reference = noise_shaped(var, res, usable)
    if shaped.sum() < MIN_PATCHES:
        shaped = usable
    levels, spread, sel = _start_levels(var, bins, shaped), 0.1, shaped
    for _ in range(ITERATIONS):
        score = (var / np.take_along_axis(levels, bins, 0)).mean(1)
        sel = shaped & (score < 1 + THRESHOLD_SD * spread)
        if sel.sum() < MIN_PATCHES:
            sel = shaped & (score <= np.sort(score[shaped])[MIN_PATCHES - 1])
        levels = np.maximum(_levels(var, bins, sel, levels), LEVEL_FLOOR)
        auto, cross, *_ = _statistics(res[sel])
        spread = score_spread(auto, cross)
    level = var[sel].mean(0)
    auto, cross, lag1, tilt, block = _statistics(res[sel])
    pixels = np.stack([np.bincount(bins[:, c], minlength=BINS) for c in range(3)], 1) * STRIDE * STRIDE
    counts = np.stack([np.bincount(bins[sel, c], minlength=BINS) for c in range(3)], 1)
    bin_var = _levels(var, bins, sel, np.full((BINS, 3), np.nan))
    return ImageNoise(name, bin_var, counts, pixels, level, lag1, cross, tilt, block, int(sel.sum()), reference)
