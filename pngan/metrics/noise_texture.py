"""What noise *is*, beyond AKLD: statistics of the residual ``noisy - clean`` of [0, 1] float (H, W, 3) images.

All statistics of one noise source (the real noise, or one fake model) accumulate over images in a
:class:`NoiseTexture`; :func:`compare` scores a fake source against the real one, and
:func:`texture_report` does both for lists of arrays. Each statistic is computed per image and then
averaged over images (with several fake samples of one image averaged first):

* **Histogram KLD** (Noise Flow's ``kl_div_3_data``, as the Noise Flow / NeCA / NAFlow tables): the
  residual of all channels in 256 bins over [-1, 1] (fraction of values per bin), forward
  ``KL(real || fake) = sum p log(p / q)`` over the bins that are non-empty in both. ``hist_kld_centred``:
  the same after removing each image's per-channel mean residual from both. A real pair whose noisy frame
  is brighter or darker than its reference (exposure drift between captures, not noise) moves the whole
  real histogram, which no zero-mean noise can follow; ``mean_offset`` (mean over images of the
  per-channel |mean residual|, 0-255) shows how much of that the data hold.
* **Radial noise power spectrum**, per channel: per-image mean removed, ``|FFT|^2 / (H W)`` (the
  variance per frequency; white noise of std s is flat at s^2), averaged in 15 equal rings of radial
  frequency from 0 (DC left out) to the corner sqrt(0.5) cycles/pixel, averaged over images. Distance:
  mean over rings and channels of ``|10 log10(P_fake / P_real)|`` in dB. ``drop_db``: the fall from the
  lowest to the highest ring (mean over channels). Reported in dB on the 0-255 scale.
* **Autocorrelation** at every lag ``|dy|, |dx| <= 3`` (a 7x7 map per channel, each lag the mean product
  over the overlapping pixels, normalized so lag 0 = 1); ``lag1`` = mean of (0, 1) and (1, 0) over R, G, B;
  the correlation between channels at lag 0 (RG, RB, GB). Distance: ``autocorrelation_mae``, the mean
  absolute difference over the 48 lags other than 0 and the channels.
* **Blockiness** (JPEG's 8x8 grid): the mean squared difference of horizontally and vertically adjacent
  noise values across 8x8 block boundaries (between columns/rows ``8k - 1`` and ``8k``) divided by the
  same inside blocks, over all channels. 1 for white noise, > 1 for JPEG'ed noise.
* **Noise level function**: :class:`~pngan.metrics.noise_stats.NoiseStats`, pooled and per group
  (e.g. per camera) when :meth:`NoiseTexture.add` is given a group key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from pngan.errors import PnganError
from pngan.metrics.noise_stats import NoiseStats

HIST_BINS, HIST_RANGE = 256, (-1.0, 1.0)
SPECTRUM_BINS = 15
MAX_LAG = 3
BLOCK = 8
MIN_SIDE = 16  # two 8x8 blocks, lags up to 3 and AKLD's 7x7 window fit in every direction
CHANNEL_PAIRS = ((0, 1), (0, 2), (1, 2))
_EPS = 1e-20


class TextureError(PnganError, ValueError):
    """An image the statistics cannot be computed on (too small, wrong layout, mismatched)."""


def check_size(shape: tuple[int, ...], name: str = "image") -> None:
    """``TextureError`` unless ``shape`` is (H, W, 3) with H, W >= ``MIN_SIDE``."""
    if len(shape) != 3 or shape[2] != 3:
        raise TextureError(f"{name}: expected an (H, W, 3) image, got shape {tuple(shape)}")
    if min(shape[:2]) < MIN_SIDE:
        raise TextureError(f"{name} is {shape[1]}x{shape[0]}: the noise statistics need at least "
                           f"{MIN_SIDE}x{MIN_SIDE} pixels (8x8 blocks, lags up to {MAX_LAG}, AKLD's 7x7 window)")


def residual(clean: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """``noisy - clean`` as float64 (H, W, 3); ``TextureError`` on mismatched or too small images."""
    c, n = np.asarray(clean), np.asarray(noisy)
    if c.shape != n.shape:
        raise TextureError(f"noisy and clean images differ in size: {n.shape} vs {c.shape}")
    check_size(c.shape)
    return n.astype(np.float64) - c.astype(np.float64)


def histogram(e: np.ndarray) -> np.ndarray:
    """Fraction of the values of ``e`` in each of the 256 bins over [-1, 1] (the last bin closed)."""
    lo, hi = HIST_RANGE
    idx = np.floor((np.ravel(e) - lo) * (HIST_BINS / (hi - lo))).astype(np.int64)
    return np.bincount(np.clip(idx, 0, HIST_BINS - 1), minlength=HIST_BINS) / max(np.size(e), 1)


def hist_kld(p: np.ndarray, q: np.ndarray) -> float:
    """Forward ``KL(p || q)`` over the bins non-empty in both (Noise Flow's ``kl_div_3_data``, ``kl_fwd``)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    m = (p > 0) & (q > 0)
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


RING_MAX = float(np.sqrt(0.5))  # the corner of the frequency plane, cycles/pixel


@lru_cache(maxsize=8)
def _rings(h: int, w: int, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the rfft2 grid of an h x w image: ring per frequency (-1: DC), its weight (2 for the half-plane
    columns that stand for a conjugate pair too), and the summed weight per ring."""
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    ring = np.sqrt(fy ** 2 + fx ** 2) * (bins / RING_MAX) + 1e-9  # a frequency on an edge: the upper ring
    idx = np.minimum(ring.astype(np.int64), bins - 1)
    weight = np.full(idx.shape, 2.0)
    weight[:, 0] = 1.0
    if w % 2 == 0:
        weight[:, -1] = 1.0
    idx[0, 0], weight[0, 0] = 0, 0.0  # DC (0 after the mean is removed) is left out
    idx, weight = idx.ravel(), weight.ravel()
    for arr in (idx, weight):
        arr.flags.writeable = False
    return idx, weight, np.bincount(idx, weight, minlength=bins)


def ring_frequencies(bins: int = SPECTRUM_BINS) -> np.ndarray:
    """Centre of each ring in cycles/pixel."""
    return (np.arange(bins) + 0.5) * (RING_MAX / bins)


def _linear_lags(x: np.ndarray, circ: np.ndarray, max_lag: int) -> np.ndarray:
    """Sums of products at lags |dy|, |dx| <= L inside the image, from the circular ones (``circ``)
    minus the few pairs that wrap around the borders."""
    h, w = x.shape[:2]
    k = 2 * max_lag + 1
    out = np.zeros((k, k, x.shape[2]))
    for dy in range(max_lag + 1):
        for dx in range(-max_lag, max_lag + 1):
            if dy == 0 and dx < 0:
                continue
            wrap = (x[h - dy:] * np.roll(x[:dy], -dx, axis=1)).sum(axis=(0, 1))  # rows past the bottom
            if dx > 0:
                wrap += (x[:h - dy, w - dx:] * x[dy:, :dx]).sum(axis=(0, 1))
            elif dx < 0:
                wrap += (x[:h - dy, :-dx] * x[dy:, w + dx:]).sum(axis=(0, 1))
            out[max_lag + dy, max_lag + dx] = out[max_lag - dy, max_lag - dx] = circ[dy % h, dx % w] - wrap
    return out


@dataclass(frozen=True)
class ImageTexture:
    """The statistics of one residual image (see the module docstring)."""

    spectrum: np.ndarray  # (bins, C) mean power per ring, [0, 1] scale; 0 where not filled
    filled: np.ndarray  # (bins,) rings with at least one frequency of this image
    autocorrelation: np.ndarray  # (2L+1, 2L+1, C), [dy + L, dx + L]; lag 0 = 1
    between_channels: np.ndarray  # (3,) RG, RB, GB at lag 0
    blockiness: float
    histogram: np.ndarray  # (256,) fraction of values per bin over [-1, 1]
    histogram_centred: np.ndarray  # (256,) the same with the per-channel mean removed
    offset: np.ndarray  # (C,) per-channel mean of the residual, [0, 1] scale


def image_texture(e: np.ndarray, bins: int = SPECTRUM_BINS, max_lag: int = MAX_LAG) -> ImageTexture:
    """All statistics of one residual ``e`` (H, W, 3) from one FFT."""
    check_size(e.shape, "residual")
    h, w, c = e.shape
    mean = e.mean(axis=(0, 1))
    x = e - mean
    f = np.fft.rfft2(x, axes=(0, 1))
    power = (f.real ** 2 + f.imag ** 2) / (h * w)
    idx, weight, wsum = _rings(h, w, bins)
    p2 = power.reshape(-1, c) * weight[:, None]
    spec = np.stack([np.bincount(idx, p2[:, j], minlength=bins) for j in range(c)], axis=1)
    filled = wsum > 0
    spec[filled] /= wsum[filled, None]
    circ = np.fft.irfft2(power * (h * w), s=(h, w), axes=(0, 1))
    lags = np.abs(np.arange(-max_lag, max_lag + 1))
    cov = _linear_lags(x, circ, max_lag) / ((h - lags)[:, None] * (w - lags)[None, :])[..., None]
    auto = cov / np.maximum(cov[max_lag, max_lag], _EPS)
    flat = x.reshape(-1, c)
    s = flat.T @ flat
    cross = np.array([s[i, j] / np.sqrt(max(s[i, i] * s[j, j], _EPS)) for i, j in CHANNEL_PAIRS])
    return ImageTexture(spec, filled, auto, cross, blockiness(x), histogram(e), histogram(x), mean)


def radial_spectrum(e: np.ndarray, bins: int = SPECTRUM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """``(power (bins, C), filled (bins,))``: mean ``|FFT|^2 / (H W)`` per ring; empty rings are 0."""
    t = image_texture(e, bins)
    return t.spectrum, t.filled


def autocorrelation(e: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """``(2L+1, 2L+1, C)`` normalized autocorrelation, ``[dy + L, dx + L]`` = lag (dy, dx); lag 0 = 1.

    Each lag is the mean of ``e[y, x] * e[y + dy, x + dx]`` over the pixel pairs inside the image (mean
    removed), divided by the variance.
    """
    return image_texture(e, max_lag=max_lag).autocorrelation


def blockiness(e: np.ndarray, block: int = BLOCK) -> float:
    """Mean squared adjacent difference across ``block`` boundaries / inside blocks (see module doc)."""
    sums, counts = np.zeros(2), np.zeros(2)
    for d in (np.diff(e, axis=1), np.diff(e, axis=0).transpose(1, 0, 2)):  # differences along x, then y
        d2 = np.einsum("ijk,ijk->j", d, d)  # per position between column k and k + 1
        edge = (np.arange(d2.size) % block) == block - 1
        sums += (d2[edge].sum(), d2[~edge].sum())
        counts += (edge.sum() * d.shape[0] * d.shape[2], (~edge).sum() * d.shape[0] * d.shape[2])
    if counts[0] == 0 or counts[1] == 0:
        raise TextureError(f"image too small for {block}x{block} blocks")
    b, i = sums / counts
    return float((b + 1e-12) / (i + 1e-12))


@dataclass
class NoiseTexture:
    """Texture statistics of one noise source, accumulated over images (see the module docstring)."""

    spectrum_bins: int = SPECTRUM_BINS
    max_lag: int = MAX_LAG
    images: int = field(init=False, default=0)
    hists: list = field(init=False, default_factory=list)  # per image: (samples, 256) histograms
    hists_centred: list = field(init=False, default_factory=list)  # the same, per-channel mean removed
    groups: dict = field(init=False, default_factory=dict)  # group key (None: no key) -> NoiseStats (std, NLF)
    _spec: np.ndarray = field(init=False, default=None)  # (bins, 3) sum over images
    _spec_n: np.ndarray = field(init=False, default=None)  # (bins,) images with that ring filled
    _auto: np.ndarray = field(init=False, default=None)  # (2L+1, 2L+1, 3) sum over images
    _cross: np.ndarray = field(init=False, default=None)  # (3,)
    _block: float = field(init=False, default=0.0)
    _offset: np.ndarray = field(init=False, default=None)  # (3,) sum over images of |mean residual|
    _levels: np.ndarray = field(init=False, default=None)  # (511,) per 8-bit level, for figures

    def __post_init__(self) -> None:
        k = 2 * self.max_lag + 1
        self._spec, self._spec_n = np.zeros((self.spectrum_bins, 3)), np.zeros(self.spectrum_bins)
        self._auto, self._cross = np.zeros((k, k, 3)), np.zeros(len(CHANNEL_PAIRS))
        self._levels, self._offset = np.zeros(511), np.zeros(3)

    def add(self, clean: np.ndarray, noisy: np.ndarray | Sequence[np.ndarray], group: str | None = None) -> None:
        """Add one image: its clean version and one noisy sample, or a list of samples (averaged)."""
        samples = [noisy] if isinstance(noisy, np.ndarray) else list(noisy)
        if not samples:
            raise TextureError("NoiseTexture.add needs at least one noisy sample")
        spec, filled, auto, cross, block, offset, hists, centred = 0.0, None, 0.0, 0.0, 0.0, 0.0, [], []
        for s in samples:
            e = residual(clean, s)
            t = image_texture(e, self.spectrum_bins, self.max_lag)
            lv = np.clip(np.rint(e * 255).astype(np.int64).ravel() + 255, 0, 510)
            self._levels += np.bincount(lv, minlength=511) / (lv.size * len(samples))
            spec, filled, auto = spec + t.spectrum, t.filled, auto + t.autocorrelation
            cross, block, offset = cross + t.between_channels, block + t.blockiness, offset + np.abs(t.offset)
            hists.append(t.histogram)
            centred.append(t.histogram_centred)
            self.groups.setdefault(group, NoiseStats(lags=())).add(clean, s)
        n = len(samples)
        self._spec += spec / n
        self._spec_n += filled
        self._auto += auto / n
        self._cross += cross / n
        self._block += block / n
        self._offset += offset / n
        self.hists.append(np.stack(hists))
        self.hists_centred.append(np.stack(centred))
        self.images += 1

    # ------------------------------------------------------------------ results

    def levels(self) -> NoiseStats:
        """Std and NLF sums over all images (all groups)."""
        out = NoiseStats(lags=())
        for g in self.groups.values():
            out.merge(g)
        return out

    def spectrum(self) -> np.ndarray:
        """(bins, 3) mean power per ring over the images ([0, 1] scale); NaN for rings no image fills."""
        with np.errstate(invalid="ignore", divide="ignore"):
            p = self._spec / self._spec_n[:, None]
        p[self._spec_n == 0] = np.nan
        return p

    def autocorrelation(self) -> np.ndarray:
        """(2L+1, 2L+1, 3) mean over images of the normalized autocorrelation."""
        return self._auto / max(self.images, 1)

    def level_histogram(self) -> np.ndarray:
        """(511,) fraction of values per 8-bit level -255 .. 255 (rounded), mean over samples, then images."""
        return self._levels / max(self.images, 1)

    def lag(self, dy: int, dx: int) -> float:
        """Autocorrelation at lag (dy, dx), mean over R, G, B."""
        return float(self.autocorrelation()[dy + self.max_lag, dx + self.max_lag].mean())

    def summary(self) -> dict:
        """JSON-ready: std, NLF (and per group), spectrum, autocorrelation, channel correlation, blockiness."""
        if self.images == 0:
            raise TextureError("no images were added")
        with np.errstate(divide="ignore"):
            db = 10 * np.log10(np.maximum(self.spectrum() * 255.0 ** 2, _EPS))
        filled = np.flatnonzero(self._spec_n > 0)
        lv = self.levels().summary()
        r4 = lambda v: round(float(v), 4)  # noqa: E731
        return {
            "images": self.images,
            "std": lv["std"], "nlf": lv["nlf"],
            "nlf_per_group": {g: s.nlf() for g, s in sorted(self.groups.items(), key=str) if g is not None},
            "spectrum": {"frequency": [r4(f) for f in ring_frequencies(self.spectrum_bins)],
                         "power_db": [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in db],
                         "drop_db": round(float(np.mean(db[filled[0]] - db[filled[-1]])), 3)},
            "autocorrelation": {"lags": list(range(-self.max_lag, self.max_lag + 1)),
                                "map": [[[r4(v) for v in row] for row in self.autocorrelation()[..., c]]
                                        for c in range(3)]},
            "lag1": r4((self.lag(0, 1) + self.lag(1, 0)) / 2),
            "lags": {f"dy{dy}_dx{dx}": r4(self.lag(dy, dx)) for dy, dx in ((0, 1), (1, 0), (1, 1))},
            "between_channels": {f"{'RGB'[i]}{'RGB'[j]}": r4(v / self.images)
                                 for (i, j), v in zip(CHANNEL_PAIRS, self._cross)},
            "blockiness": r4(self._block / self.images),
            "mean_offset": [round(float(v) * 255, 3) for v in self._offset / self.images],
        }


def compare(real: NoiseTexture, fake: NoiseTexture) -> dict:
    """Distances of ``fake`` to ``real`` (the same images, in the same order): hist KLD, spectrum, autocorrelation.

    ``{"hist_kld", "hist_kld_per_image", "hist_kld_centred", "hist_kld_centred_per_image", "spectrum_db",
    "autocorrelation_mae"}``.
    """
    if real.images != fake.images or real.images == 0:
        raise TextureError(f"real and fake statistics cover different images ({real.images} vs {fake.images})")
    per = [float(np.mean([hist_kld(r[0], q) for q in f])) for r, f in zip(real.hists, fake.hists)]
    cen = [float(np.mean([hist_kld(r[0], q) for q in f])) for r, f in zip(real.hists_centred, fake.hists_centred)]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(10 * np.log10(fake.spectrum() / real.spectrum()))
    a = np.abs(fake.autocorrelation() - real.autocorrelation())
    off = np.ones(a.shape[:2], bool)
    off[real.max_lag, real.max_lag] = False
    return {"hist_kld": float(np.mean(per)), "hist_kld_per_image": per,
            "hist_kld_centred": float(np.mean(cen)), "hist_kld_centred_per_image": cen,
            "spectrum_db": float(np.nanmean(d)), "autocorrelation_mae": float(a[off].mean())}


def texture_report(clean: Sequence[np.ndarray], real: Sequence[np.ndarray],
                   fakes: Sequence[np.ndarray | Sequence[np.ndarray]],
                   groups: Sequence[str] | None = None) -> dict:
    """All statistics for lists of images: ``{"real": summary, "fake": summary, **compare(real, fake)}``.

    ``fakes[i]`` is one fake noisy image for ``clean[i]`` or a list of samples; ``groups[i]`` (optional) a
    key such as the camera, for the per-group NLF.
    """
    if not (len(clean) == len(real) == len(fakes)) or (groups is not None and len(groups) != len(clean)):
        raise TextureError("need as many clean, real and fake entries (and groups)")
    rt, ft = NoiseTexture(), NoiseTexture()
    for i, (c, r, f) in enumerate(zip(clean, real, fakes)):
        g = None if groups is None else groups[i]
        rt.add(c, r, g)
        ft.add(c, f, g)
    return {"real": rt.summary(), "fake": ft.summary(), **compare(rt, ft)}
