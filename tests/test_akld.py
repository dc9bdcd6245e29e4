"""AKLD as DANet defines it: variance maps, clamped KL, averaging; pinned window and padding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data

from pngan.metrics import akld, akld_image, gaussian_kernel_1d, kl_gauss_zero_center, noise_variance_map


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return (data.astronaut()[100:196, 150:246].astype(np.float32) / 255.0)


def _noisy(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(clean.shape)
    return np.clip(clean + sigma / 255.0 * n, 0.0, 1.0).astype(np.float32)


def test_package_reexports_quality_metrics():
    from pngan.metrics import psnr, psnr_float, ssim
    from pngan.metrics.quality import psnr as psnr_q

    assert psnr is psnr_q and callable(psnr_float) and callable(ssim)


def test_kernel_is_opencv_small_gaussian_table():
    # cv2.getGaussianKernel(7, -1) uses the fixed table, not the sigma=1.4 formula
    k = gaussian_kernel_1d(7)
    np.testing.assert_allclose(k, np.array([1, 3.5, 7, 9, 7, 3.5, 1]) / 32)
    x = np.arange(7) - 3.0
    k14 = np.exp(-x**2 / (2 * 1.4**2))
    assert not np.allclose(k, k14 / k14.sum(), atol=1e-3)
    k9 = gaussian_kernel_1d(9)  # larger windows follow OpenCV's sigma rule: 0.3 * ((9 - 1) / 2 - 1) + 0.8
    np.testing.assert_allclose(k9, np.exp(-(np.arange(9) - 4.0)**2 / (2 * 1.7**2)) / np.exp(
        -(np.arange(9) - 4.0)**2 / (2 * 1.7**2)).sum())


def test_reflect_101_padding_pinned_by_hand():
    # A single unit of squared error at the corner (0, 0). With reflect-101 padding (torch 'reflect',
    # no edge repeat) the corner is not duplicated, so the output there is k[3]^2 = (9/32)^2.
    # cv2.BORDER_REFLECT (edge repeated) would give (k[3] + k[2])^2 = (16/32)^2 instead.
    clean = np.zeros((12, 12, 1))
    noisy = clean.copy()
    noisy[0, 0, 0] = 1.0
    v = noise_variance_map(noisy, clean)
    assert v[0, 0, 0] == pytest.approx((9 / 32) ** 2, rel=1e-12)
    # pixel (0, 1): the unit is one column to the left and is never mirrored, weight k[3] * k[2]
    assert v[0, 1, 0] == pytest.approx((9 / 32) * (7 / 32), rel=1e-12)
    # far from the corner only the floor remains
    assert v[8, 8, 0] == pytest.approx(1e-10)


def test_variance_map_of_constant_noise_and_uint8_scale():
    clean = np.full((10, 9, 3), 0.5)
    noisy = clean + 0.1
    np.testing.assert_allclose(noise_variance_map(noisy, clean), 0.01, rtol=1e-12)
    u8 = (np.full((10, 9, 3), 100, np.uint8), np.full((10, 9, 3), 110, np.uint8))
    np.testing.assert_allclose(noise_variance_map(*u8), (10 / 255) ** 2, rtol=1e-12)  # uint8 -> [0, 1]


def test_kl_formula_and_clamp():
    vr = np.full((4, 4, 3), 2.0)
    assert kl_gauss_zero_center(vr, vr) == 0.0
    r = 1.5
    assert kl_gauss_zero_center(vr * r, vr) == pytest.approx(0.5 * (r - 1 - math.log(r)))
    # ratios beyond [0.1, 10] are clamped
    assert kl_gauss_zero_center(vr * 1e-6, vr) == pytest.approx(0.5 * (0.1 - 1 + math.log(10)))
    assert kl_gauss_zero_center(vr * 1e6, vr) == pytest.approx(0.5 * (10 - 1 - math.log(10)))


def test_fake_equal_to_real_gives_zero(clean):
    real = _noisy(clean, 10, 0)
    assert akld_image(clean, real, [real]) == 0.0
    assert akld([clean], [real], [[real, real]]) == (0.0, [0.0])


def test_same_statistics_is_near_zero(clean):
    real = _noisy(clean, 10, 0)
    fakes = [_noisy(clean, 10, s) for s in (1, 2)]
    v = akld_image(clean, real, fakes)
    assert 0 < v < 0.08  # independent realisations of the same noise: only estimation noise


def test_monotonic_in_sigma_departure(clean):
    real = _noisy(clean, 10, 0)
    below = [akld_image(clean, real, [_noisy(clean, s, 1)]) for s in (10, 7, 5, 3)]
    above = [akld_image(clean, real, [_noisy(clean, s, 1)]) for s in (10, 14, 20, 30)]
    assert below == sorted(below) and len(set(below)) == 4
    assert above == sorted(above) and len(set(above)) == 4


def test_roughly_symmetric_in_log_sigma(clean):
    real = _noisy(clean, 10, 0)
    lo = akld_image(clean, real, [_noisy(clean, 10 / 1.5, 1)])
    hi = akld_image(clean, real, [_noisy(clean, 10 * 1.5, 1)])
    # same order of magnitude both ways; KL(fake || real) penalises too much noise more than too little
    # (analytic per-pixel KL for variance ratios 1/2.25 and 2.25: 0.128 and 0.220)
    assert 0.3 < lo / hi < 1.0
    for v, r in ((lo, 1 / 2.25), (hi, 2.25)):
        assert 0.5 * (r - 1 - math.log(r)) <= v < 0.5 * (r - 1 - math.log(r)) + 0.12


def test_zero_noise_fake_is_finite(clean):
    real = _noisy(clean, 10, 0)
    v = akld_image(clean, real, [clean])
    assert math.isfinite(v)
    assert v == pytest.approx(0.5 * (0.1 - 1 + math.log(10)), rel=1e-6)  # ratio clamped at 0.1


def test_akld_averages_images_and_samples(clean):
    real = _noisy(clean, 10, 0)
    f1, f2 = _noisy(clean, 5, 1), _noisy(clean, 20, 2)
    a, b = akld_image(clean, real, [f1]), akld_image(clean, real, [f2])
    assert akld_image(clean, real, [f1, f2]) == pytest.approx((a + b) / 2)
    mean, per = akld([clean, clean], [real, real], [[f1], [f2]])
    assert per == pytest.approx([a, b]) and mean == pytest.approx((a + b) / 2)


def test_errors():
    with pytest.raises(ValueError):
        noise_variance_map(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(ValueError):
        akld_image(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), [])
    with pytest.raises(ValueError):
        akld([np.zeros((4, 4, 3))], [], [])
    with pytest.raises(ValueError):
        gaussian_kernel_1d(6)


# ------------------------------------------------------------------ closed form (hand-computed values)
#
# A noise field n = s * (+-1) with random signs has n^2 = s^2 at every pixel, so DANet's variance map
# (a normalised Gaussian window over n^2, reflect padding) is exactly s^2 everywhere, at any window
# position and at the borders. Real noise s_r and fake noise s_f then give, per pixel and channel,
# KL(N(0, s_f^2) || N(0, s_r^2)) = 0.5 * (r - 1 - ln r) with r = s_f^2 / s_r^2 clamped to [0.1, 10].
# With s a whole number of 8-bit levels and clean values away from 0 and 255, the images survive
# 8-bit PNG exactly, so `pngan eval-noise` must print the same number.

def _kl(r: float) -> float:
    r = min(max(r, 0.1), 10.0)
    return 0.5 * (r - 1 - math.log(r))


# (real sigma per channel, fake sigmas per channel (one tuple per fake), hand-computed AKLD)
CLOSED_FORM = {
    # r = 2.25: 0.5 * (1.25 - ln 2.25) = 0.5 * (1.25 - 0.8109302162) = 0.2195348919
    "ratio-2.25": ((10, 10, 10), [(15, 15, 15)], 0.2195348919),
    # r = 1 / 4: 0.5 * (0.25 - 1 + ln 4) = 0.3181471806
    "ratio-0.25": ((20, 20, 20), [(10, 10, 10)], 0.3181471806),
    # per channel r = 1/4, 1, 4: (0.3181471806 + 0 + 0.8068528194) / 3 = 0.375
    "per-channel": ((10, 10, 10), [(5, 10, 20)], 0.375),
    # r = 16 clamped to 10: 0.5 * (9 - ln 10) = 3.3487074535; r = 1/25 clamped to 0.1: 0.7012925465
    "clamped-high": ((10, 10, 10), [(40, 40, 40)], 3.3487074535),
    "clamped-low": ((10, 10, 10), [(2, 2, 2)], 0.7012925465),
    # two fakes are averaged: (0 + 0.2195348919) / 2
    "two-fakes": ((10, 10, 10), [(10, 10, 10), (15, 15, 15)], 0.10976744595),
}


def _sign_field(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1, 1)


def _closed_form_images(real_s, fake_ss, h: int = 40, w: int = 52):
    """uint8 clean, real and fakes: clean in [50, 205], +-s noise per channel (s in 8-bit levels)."""
    clean = (data.astronaut()[::5, ::5][:h, :w].astype(np.int32) * 155 // 255 + 50)
    real = clean + _sign_field(clean.shape, 1) * np.asarray(real_s)
    fakes = [clean + _sign_field(clean.shape, 2 + i) * np.asarray(s) for i, s in enumerate(fake_ss)]
    u8 = lambda a: a.astype(np.uint8)  # noqa: E731  (all values lie in [10, 245])
    return u8(clean), u8(real), [u8(f) for f in fakes]


def test_closed_form_values_by_hand():
    assert _kl(2.25) == pytest.approx(0.2195348919, abs=1e-10)
    assert (_kl(0.25) + _kl(1) + _kl(4)) / 3 == pytest.approx(0.375, abs=1e-12)  # ln 4 terms cancel


@pytest.mark.parametrize("case", sorted(CLOSED_FORM))
def test_library_akld_equals_closed_form(case):
    real_s, fake_ss, want = CLOSED_FORM[case]
    clean, real, fakes = _closed_form_images(real_s, fake_ss)
    v_real = noise_variance_map(real, clean)
    np.testing.assert_allclose(v_real, np.broadcast_to((np.asarray(real_s) / 255.0) ** 2, v_real.shape), rtol=1e-12)
    assert akld_image(clean, real, fakes) == pytest.approx(want, abs=1e-9)
    # float images in [0, 1] (as read from files) give the same value
    f32 = lambda a: a.astype(np.float32) / np.float32(255)  # noqa: E731
    assert akld_image(f32(clean), f32(real), [f32(f) for f in fakes]) == pytest.approx(want, abs=1e-6)


def test_cli_eval_noise_equals_closed_form(tmp_path):
    import json

    from click.testing import CliRunner

    from pngan.cli import main
    from pngan.io.images import write_image

    stems, want = [], []
    for i, case in enumerate(("ratio-2.25", "per-channel", "two-fakes")):
        real_s, fake_ss, value = CLOSED_FORM[case]
        clean, real, fakes = _closed_form_images(real_s, fake_ss, 36 + 4 * i, 48)
        stem = f"img{i}"
        write_image(tmp_path / "clean" / f"{stem}_mean.png", clean)
        write_image(tmp_path / "real" / f"{stem}_real.png", real)
        for k, f in enumerate(fakes):
            write_image(tmp_path / "fake" / f"{stem}_{k}.png", f)
        stems.append(stem)
        want.append(value)
    r = CliRunner().invoke(main, ["eval-noise", "--clean", str(tmp_path / "clean"), "--real", str(tmp_path / "real"),
                                  "--fake", str(tmp_path / "fake"), "--json", str(tmp_path / "akld.json")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "akld.json").read_text())
    for stem, value in zip(stems, want):
        assert res["per_image"][stem] == pytest.approx(value, abs=1e-6)
        assert f"{stem}  AKLD {value:.4f}" in r.output
    mean = float(np.mean(want))  # (0.2195348919 + 0.375 + 0.1097674460) / 3 = 0.2347674460
    assert mean == pytest.approx(0.2347674460, abs=1e-9)
    assert res["akld"] == pytest.approx(mean, abs=1e-6)
    assert f"AKLD {mean:.4f}  over 3 images" in r.output


def test_gaussian_noise_approaches_the_closed_form_on_a_large_image():
    """Real AWGN (not +-s): the local estimate fluctuates, so AKLD sits a little above the closed form."""
    rng = np.random.default_rng(0)
    clean = np.full((256, 256, 3), 0.5)
    real = clean + 10 / 255 * rng.standard_normal(clean.shape)
    fake = clean + 15 / 255 * rng.standard_normal(clean.shape)
    v = akld_image(clean, real, [fake])
    assert _kl(2.25) < v < _kl(2.25) + 0.15
