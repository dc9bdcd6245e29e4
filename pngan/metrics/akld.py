"""AKLD (average KL divergence) between real and generated noise, exactly as DANet computes it.

Reference: Yue et al., "Dual Adversarial Network: Toward Real-world Noise Removal
and Generation", ECCV 2020; official code github.com/zsyOAOA/DANet, functions
``estimate_sigma_gauss`` and ``kl_gauss_zero_center`` (``utils.py``), helpers
``get_gausskernel`` and ``gaussblur`` (``loss.py``), and the evaluation script
``demo_AKLD.py``. The choices reproduced here, checked against that code:

* **Scale.** Images are float in [0, 1] (``img_as_float32``: uint8 / 255), the
  same as this project's images. ``demo_AKLD.py`` clamps each generated fake to
  [0, 1] (``im_noisy_fake.clamp_(0.0, 1.0)``) right after sampling and does not
  quantize it; that clamp belongs to sampling, so the functions here take the
  fakes as given (``pngan eval-noise`` clamps generated samples; images read from
  files are in range already).
* **Variance map** (``estimate_sigma_gauss``; despite the name it is a variance):
  ``err2 = (noisy - clean) ** 2`` per channel, filtered with a 7 x 7 separable
  Gaussian window built from ``cv2.getGaussianKernel(7, sigma=-1)``. For an odd
  size <= 7 and sigma <= 0, OpenCV does *not* use its sigma rule
  (``0.3 * ((ksize - 1) * 0.5 - 1) + 0.8 = 1.4``) but its fixed
  ``small_gaussian_tab``: ``[1, 3.5, 7, 9, 7, 3.5, 1] / 32``. That table is used
  here (the sigma-rule kernel differs by up to 7 % per tap). Other window sizes
  follow OpenCV's sigma rule.
* **Padding** (``gaussblur``): ``F.pad(..., mode='reflect')`` by
  ``(win - 1) // 2`` on each side, then a 'valid' convolution, so the output has
  the input's size. PyTorch's ``reflect`` does not repeat the edge pixel, i.e.
  OpenCV's ``BORDER_REFLECT_101`` (``dcb|abcd|cba``), which is
  ``np.pad(mode='reflect')``; it is *not* ``cv2.BORDER_REFLECT`` (``dcba|abcd``).
* **Floor.** The variance map is clamped to ``min=1e-10`` (in [0, 1] units).
* **KL** (``kl_gauss_zero_center(sigma_fake, sigma_real)``): with variance maps
  ``vf`` (fake) and ``vr`` (real), ``r = vf / vr`` is clamped to ``[0.1, 10]``
  (no eps other than the 1e-10 floor above), and
  ``KL = 0.5 * mean(log(1 / r) + r - 1)`` over all channels and pixels: the
  per-pixel KL(N(0, vf) || N(0, vr)) of zero-mean Gaussians, averaged. A fake
  with zero noise gives r = 0.1 everywhere: KL = 0.5 * (ln 10 - 0.9) ~ 0.701.
* **AKLD.** ``demo_AKLD.py`` draws L fakes per clean image, averages their KL
  against the real noisy image's map; the dataset AKLD is the mean over images.

Computation is in float64 (DANet uses float32 tensors; the difference is ~1e-6).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

VAR_FLOOR = 1e-10  # estimate_sigma_gauss: sigma.clamp_(min=1e-10)
RATIO_MIN, RATIO_MAX = 0.1, 10.0  # kl_gauss_zero_center: div_sigma.clamp_(min=0.1, max=10)

# OpenCV's small_gaussian_tab: cv2.getGaussianKernel(n, sigma<=0) for odd n <= 7.
_SMALL_GAUSSIAN_TAB = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}


def gaussian_kernel_1d(win: int = 7) -> np.ndarray:
    """``cv2.getGaussianKernel(win, -1)`` without OpenCV (fixed table for odd win <= 7)."""
    if win < 1 or win % 2 == 0:
        raise ValueError(f"window size must be a positive odd number, got {win}")
    if win in _SMALL_GAUSSIAN_TAB:
        k = np.asarray(_SMALL_GAUSSIAN_TAB[win], dtype=np.float64)
    else:
        sigma = 0.3 * ((win - 1) * 0.5 - 1) + 0.8
        x = np.arange(win, dtype=np.float64) - (win - 1) * 0.5
        k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _as_hwc(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == np.uint8:
        a = a.astype(np.float64) / 255.0
    a = a.astype(np.float64, copy=False)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"{name}: expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    return a


def gauss_blur(x: np.ndarray, win: int = 7) -> np.ndarray:
    """DANet's ``gaussblur`` on an (H, W, C) array: reflect-101 padding, separable window, same size."""
    k = gaussian_kernel_1d(win)
    p = (win - 1) // 2
    xp = np.pad(x, ((p, p), (p, p), (0, 0)), mode="reflect")  # == torch 'reflect' == BORDER_REFLECT_101
    h, w = x.shape[:2]
    rows = k[0] * xp[:h]  # summed in place, in the order of sum(k[i] * ...): the same floats, fewer copies
    for i in range(1, win):
        rows += k[i] * xp[i:i + h]
    out = k[0] * rows[:, :w]
    for j in range(1, win):
        out += k[j] * rows[:, j:j + w]
    return out


def noise_variance_map(noisy: np.ndarray, clean: np.ndarray, win: int = 7) -> np.ndarray:
    """Per-pixel, per-channel noise variance, DANet ``estimate_sigma_gauss``: (H, W, C) float64.

    Float images in [0, 1] (uint8 is divided by 255); the result is floored at 1e-10.
    """
    y, x = _as_hwc(noisy, "noisy"), _as_hwc(clean, "clean")
    if y.shape != x.shape:
        raise ValueError(f"noisy and clean images differ in size: {y.shape} vs {x.shape}")
    return np.maximum(gauss_blur((y - x) ** 2, win), VAR_FLOOR)


def kl_gauss_zero_center(sigma_fake: np.ndarray, sigma_real: np.ndarray) -> float:
    """Mean per-pixel KL(N(0, sigma_fake) || N(0, sigma_real)); inputs are *variance* maps.

    As DANet's ``kl_gauss_zero_center``: the ratio fake/real is clamped to [0.1, 10].
    """
    vf, vr = np.asarray(sigma_fake, np.float64), np.asarray(sigma_real, np.float64)
    if vf.shape != vr.shape:
        raise ValueError(f"variance maps differ in shape: {vf.shape} vs {vr.shape}")
    r = np.clip(vf / vr, RATIO_MIN, RATIO_MAX)
    return float(0.5 * np.mean(np.log(1.0 / r) + r - 1.0))


def akld_image(clean: np.ndarray, real: np.ndarray, fakes: Sequence[np.ndarray], win: int = 7) -> float:
    """KL of each fake's noise map against the real one's, averaged over the L fakes of one image."""
    if len(fakes) == 0:
        raise ValueError("akld_image needs at least one fake sample")
    v_real = noise_variance_map(real, clean, win)
    kls = [kl_gauss_zero_center(noise_variance_map(f, clean, win), v_real) for f in fakes]
    return float(np.mean(kls))


def akld(clean_list: Sequence[np.ndarray], real_list: Sequence[np.ndarray],
         fakes_list: Sequence[Sequence[np.ndarray]], win: int = 7) -> tuple[float, list[float]]:
    """AKLD over a set of images: ``(mean over images, per-image values)``.

    ``fakes_list[i]`` holds the L fake noisy samples for ``clean_list[i]``.
    """
    if not (len(clean_list) == len(real_list) == len(fakes_list)):
        raise ValueError(f"need as many clean, real and fake entries, got "
                         f"{len(clean_list)}, {len(real_list)}, {len(fakes_list)}")
    if len(clean_list) == 0:
        raise ValueError("akld needs at least one image")
    per = [akld_image(c, r, f, win) for c, r, f in zip(clean_list, real_list, fakes_list)]
    return float(np.mean(per)), per
