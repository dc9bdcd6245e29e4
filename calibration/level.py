"""A rough noise level of noisy images without their clean version, to compare calibration and validation data.

The median absolute value of the finest diagonal Haar detail (Donoho's MAD estimator), per channel, over the
image. Texture raises it and spatially correlated camera noise lowers it (PolyU reads about 40 % low), so it
is used only to compare two sets measured the same way, never as a noise level to report.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

MAD_TO_STD = 0.6745


def mad_level(img: np.ndarray) -> float:
    """Noise std estimate (0-255 scale) of an ``H x W x 3`` or ``1 x 3 x H x W`` image in [0, 1]."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 4:
        a = a[0].transpose(1, 2, 0)
    h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
    a = a[:h, :w]
    hh = (a[0::2, 0::2] - a[0::2, 1::2] - a[1::2, 0::2] + a[1::2, 1::2]) / 2.0
    return float(np.mean(np.median(np.abs(hh), axis=(0, 1))) / MAD_TO_STD * 255.0)


def set_level(images: Iterable[np.ndarray], q: float = 90.0) -> float:
    """The ``q``-th percentile of ``mad_level`` over ``images``: how heavy the noisier images of a set are."""
    levels = [mad_level(x) for x in images]
    return float(np.percentile(levels, q)) if levels else 0.0
