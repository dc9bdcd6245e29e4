"""The paper's PSNR / SSIM (pngan.metrics.paper) against values worked out by hand on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pngan.metrics import psnr, psnr_paper, rgb_to_y, ssim, ssim_paper
from pngan.metrics.paper import gaussian_window, ssim_map_y

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def test_psnr_by_hand_float_and_clamped():
    a = np.zeros((2, 2, 3), np.float32)
    b = a.copy()
    b[0, 0, 0] = 0.5  # one of 12 values off by 0.5: MSE = 0.25 / 12, PSNR = 10 log10(48)
    assert psnr_paper(b, a) == pytest.approx(10 * math.log10(48), abs=1e-9)
    b[0, 0, 0] = 1.7  # clamped to 1 before the difference: MSE = 1 / 12
    assert psnr_paper(b, a) == pytest.approx(10 * math.log10(12), abs=1e-9)
    assert psnr_paper(a, a) == math.inf
    c = np.full((4, 4, 3), 0.5 + 0.3 / 255, np.float32)  # not quantized: differs from the 8-bit PSNR
    d = np.full((4, 4, 3), 0.5, np.float32)
    assert psnr_paper(c, d) == pytest.approx(20 * math.log10(255 / 0.3), abs=1e-4)
    assert psnr(c, d) == math.inf  # the 8-bit definition rounds both to 128


def test_y_channel_is_matlab_rgb2ycbcr():
    img = np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]], np.float64)
    np.testing.assert_allclose(rgb_to_y(img)[0], [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-9)


def test_gaussian_window_taps():
    g = gaussian_window()
    assert len(g) == 11 and g.sum() == pytest.approx(1.0)
    assert g[5] / g[4] == pytest.approx(math.exp(1 / 4.5))  # exp(-(0 - 1) / (2 * 1.5^2)) ratio
    assert g[0] / g[5] == pytest.approx(math.exp(-25 / 4.5))


def test_ssim_of_flat_images_by_hand():
    """Flat images: no variance, so SSIM = (2 y1 y2 + C1) / (y1^2 + y2^2 + C1)."""
    a = np.full((11, 11, 3), 0.2)
    b = np.full((11, 11, 3), 0.6)
    y1, y2 = 16 + 0.2 * 219, 16 + 0.6 * 219  # 65.481 + 128.553 + 24.966 = 219
    assert ssim_paper(a, b) == pytest.approx((2 * y1 * y2 + C1) / (y1**2 + y2**2 + C1), rel=1e-12)
    assert ssim_paper(a, a) == pytest.approx(1.0)


def test_ssim_of_one_bright_pixel_by_hand():
    """An 11x11 pair that differs in the centre pixel: one window, weights w = g[5]^2 there.

    mu1 = 16, mu2 = 16 + w d, var1 = 0, var2 = w (1 - w) d^2, cov = 0 (image 1 is flat).
    """
    a = np.zeros((11, 11, 3))
    b = a.copy()
    b[5, 5] = 1.0
    d, w = 219.0, gaussian_window()[5] ** 2
    mu1, mu2 = 16.0, 16.0 + w * d
    expect = (2 * mu1 * mu2 + C1) / (mu1**2 + mu2**2 + C1) * C2 / (w * (1 - w) * d**2 + C2)
    assert ssim_paper(a, b) == pytest.approx(expect, rel=1e-12)
    off = b.copy()
    off[5, 5], off[0, 0] = 0.0, 1.0  # the same pixel in a corner weighs g[0]^2: much closer to 1
    assert ssim_paper(a, off) > ssim_paper(a, b)


def test_valid_region_only_and_undefined_below_the_window():
    rng = np.random.default_rng(0)
    a = rng.random((13, 17, 3))
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    assert ssim_map_y(rgb_to_y(a), rgb_to_y(b)).shape == (3, 7)  # centres >= 5 px from each border
    assert math.isnan(ssim_paper(a[:10], b[:10])) and math.isnan(ssim_paper(a[:3, :5], b[:3, :5]))
    assert math.isnan(ssim(a[:3, :5], b[:3, :5]))  # the skimage definition: undefined below 7x7
    assert not math.isnan(psnr_paper(a[:3, :5], b[:3, :5]))


def test_agrees_with_scikit_image_given_the_matlab_settings():
    """An independent implementation with the same settings (Gaussian 11x11, sigma 1.5, population variance)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    a = rng.random((40, 52, 3))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    ref = structural_similarity(rgb_to_y(a), rgb_to_y(b), gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    assert ssim_paper(a, b) == pytest.approx(ref, abs=1e-12)
    assert abs(ssim_paper(a, b) - ssim(a, b)) > 1e-3  # and it is not the RGB 7x7 uniform one


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="equal shapes"):
        ssim_paper(np.zeros((12, 12, 3)), np.zeros((12, 13, 3)))
    with pytest.raises(ValueError, match="equal shapes"):
        psnr_paper(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))
