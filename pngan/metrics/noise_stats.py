"""Noise statistics that AKLD alone does not show: the noise level function and spatial correlation.

* **Noise level function (NLF):** the standard deviation of ``noisy - clean`` as a function of the
  clean intensity, per channel (bins over [0, 1]). Real camera noise grows with the signal; AWGN is flat.
* **Correlation:** the normalized autocorrelation of the noise at small spatial lags, per channel, and
  the correlation between channels at lag 0. Demosaicing and JPEG make real noise correlated in space
  and across channels; AWGN is white (all ~0).

:class:`NoiseStats` accumulates sums over many images, so a whole folder is one set of statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LAGS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0))  # (dy, dx)
CHANNEL_PAIRS = ((0, 1), (0, 2), (1, 2))
MIN_COUNT = 200  # an NLF bin with fewer pixels is not reported


@dataclass
class NoiseStats:
    """Running sums for the NLF and the correlations of ``noisy - clean`` over any number of images."""

    bins: int = 16
    lags: tuple = LAGS  # the lags whose correlation is accumulated; () for the std and NLF only
    n: np.ndarray = field(init=False)       # (bins, C) pixel counts
    s2: np.ndarray = field(init=False)      # (bins, C) sum of squared noise
    s1: np.ndarray = field(init=False)      # (bins, C) sum of noise
    lag: dict = field(init=False)           # lag -> [sum n_a*n_b per channel (C,), count]
    var: np.ndarray = field(init=False)     # (C,) sum of squares, for normalization
    count: int = field(init=False, default=0)
    cross: np.ndarray = field(init=False)   # (3,) sum of n_i*n_j at lag 0

    def __post_init__(self) -> None:
        self.n, self.s2, self.s1 = (np.zeros((self.bins, 3)) for _ in range(3))
        self.lag = {d: [np.zeros(3), 0] for d in self.lags}
        self.var, self.cross = np.zeros(3), np.zeros(len(CHANNEL_PAIRS))

    def add(self, clean: np.ndarray, noisy: np.ndarray) -> None:
        """Add one (H, W, 3) pair in [0, 1]."""
        e = noisy.astype(np.float64) - clean.astype(np.float64)
        e = e - e.mean(axis=(0, 1))  # a per-image colour shift is not noise
        idx = np.clip((clean * self.bins).astype(np.int64), 0, self.bins - 1)
        flat, ef = (idx + self.bins * np.arange(3)).ravel(), e.ravel()  # one bin range per channel
        e2 = ef * ef
        for total, weights in ((self.n, None), (self.s1, ef), (self.s2, e2)):
            total += np.bincount(flat, weights, minlength=3 * self.bins).reshape(3, self.bins).T
        h, w = e.shape[:2]
        self.var += e2.reshape(-1, 3).sum(axis=0)
        self.count += h * w
        for dy, dx in self.lags:
            if h > dy and w > dx:
                a, b = e[:h - dy, :w - dx], e[dy:, dx:]
                self.lag[(dy, dx)][0] += (a * b).sum(axis=(0, 1))
                self.lag[(dy, dx)][1] += (h - dy) * (w - dx)
        for k, (i, j) in enumerate(CHANNEL_PAIRS):
            self.cross[k] += (e[..., i] * e[..., j]).sum()

    def merge(self, other: NoiseStats) -> None:
        """Add the sums of ``other`` (same bins and lags), as if its images had been added here."""
        if (other.bins, other.lags) != (self.bins, self.lags):
            raise ValueError("NoiseStats.merge needs the same bins and lags")
        for name in ("n", "s2", "s1", "var", "cross"):
            getattr(self, name).__iadd__(getattr(other, name))
        for d, (s, n) in other.lag.items():
            self.lag[d][0] += s
            self.lag[d][1] += n
        self.count += other.count

    def nlf(self) -> dict:
        """``{"intensity": [bin centres], "std": [[R, G, B] per bin] (0-255 scale, None if too few)}``."""
        centres = ((np.arange(self.bins) + 0.5) / self.bins).round(4).tolist()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.s1 / self.n
            std = np.sqrt(np.maximum(self.s2 / self.n - mean ** 2, 0)) * 255
        out = [[round(float(v), 3) if n >= MIN_COUNT else None for v, n in zip(row, nrow)]
               for row, nrow in zip(std, self.n)]
        return {"intensity": centres, "std": out}

    def correlation(self) -> dict:
        """Normalized autocorrelation per lag and channel, and the channel-pair correlations at lag 0."""
        var = self.var / max(self.count, 1)
        auto = {f"dy{dy}_dx{dx}": [round(float(v), 4) for v in (s / max(n, 1)) / np.maximum(var, 1e-20)]
                for (dy, dx), (s, n) in self.lag.items()}
        cross = {f"{'RGB'[i]}{'RGB'[j]}": round(float(self.cross[k] / max(self.count, 1)
                                                       / np.sqrt(max(var[i] * var[j], 1e-40))), 4)
                 for k, (i, j) in enumerate(CHANNEL_PAIRS)}
        return {"autocorrelation": auto, "between_channels": cross}

    def summary(self) -> dict:
        """Both, JSON-ready, plus the overall noise std per channel (0-255 scale)."""
        std = np.sqrt(self.var / max(self.count, 1)) * 255
        return {"std": [round(float(v), 3) for v in std], "nlf": self.nlf(), **self.correlation()}
