"""Noise texture statistics (pngan.metrics.noise_texture) against closed forms and brute force."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from pngan.metrics.noise_texture import (MAX_LAG, NoiseTexture, RING_MAX, SPECTRUM_BINS, TextureError, autocorrelation,
                                         blockiness, compare, hist_kld, histogram, image_texture, radial_spectrum,
                                         residual, texture_report)

RNG = np.random.default_rng


def _clean(h=128, w=128, seed=0) -> np.ndarray:
    return 0.2 + 0.6 * RNG(seed).random((h, w, 3))


def test_white_noise_is_uncorrelated_flat_and_unblocky():
    s = 0.02
    e = s * RNG(1).standard_normal((256, 256, 3))
    t = image_texture(e)
    off = np.ones((2 * MAX_LAG + 1,) * 2, bool)
    off[MAX_LAG, MAX_LAG] = False
    assert np.all(t.autocorrelation[MAX_LAG, MAX_LAG] == 1.0)
    assert np.abs(t.autocorrelation[off]).max() < 0.02
    assert np.all(t.filled)
    np.testing.assert_allclose(t.spectrum / s ** 2, 1.0, atol=0.1)  # |FFT|^2 / (HW): flat at the variance
    assert abs(t.blockiness - 1) < 0.03
    assert np.abs(t.between_channels).max() < 0.02


def test_two_tap_kernel_has_its_lag1_correlation_and_spectrum():
    """e = a n[x] + b n[x+1]: correlation ab / (a^2 + b^2) at (0, +-1), 0 elsewhere;
    spectrum s^2 |a + b exp(2 pi i fx)|^2."""
    a, b, s = 1.0, 0.5, 0.01
    h, w = 192, 160
    rng = RNG(2)
    tex = NoiseTexture()
    for _ in range(4):
        n = s * rng.standard_normal((h, w + 1, 3))
        clean = _clean(h, w, 3)
        tex.add(clean, clean + a * n[:, :-1] + b * n[:, 1:])
    m = tex.autocorrelation()
    L = MAX_LAG
    want = a * b / (a * a + b * b)  # 0.4
    assert m[L, L + 1].mean() == pytest.approx(want, abs=0.02) and m[L, L - 1].mean() == pytest.approx(want, abs=0.02)
    assert abs(m[L + 1, L].mean()) < 0.02 and abs(m[L, L + 2].mean()) < 0.02 and abs(m[L + 1, L + 1].mean()) < 0.02
    assert tex.summary()["lag1"] == pytest.approx(want / 2, abs=0.015)  # mean of (0, 1) and (1, 0)
    # expected ring averages from the formula over the full frequency plane (an independent ring binning)
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    p = s * s * np.abs(a + b * np.exp(2j * np.pi * fx)) ** 2
    ring = np.minimum((np.hypot(fy, fx) / RING_MAX * SPECTRUM_BINS + 1e-9).astype(int), SPECTRUM_BINS - 1)
    ring[0, 0] = -1
    expect = np.array([p[ring == k].mean() for k in range(SPECTRUM_BINS)])
    np.testing.assert_allclose(tex.spectrum().mean(axis=1) / expect, 1.0, atol=0.08)
    assert tex.summary()["spectrum"]["drop_db"] > 3


def test_autocorrelation_equals_brute_force_at_every_lag():
    e = RNG(4).standard_normal((19, 23, 3)) + np.linspace(0, 1, 23)[None, :, None]  # odd sizes, a trend
    got = autocorrelation(e)
    x = e - e.mean(axis=(0, 1))
    h, w = x.shape[:2]
    var = (x * x).mean(axis=(0, 1))
    for dy in range(-MAX_LAG, MAX_LAG + 1):
        for dx in range(-MAX_LAG, MAX_LAG + 1):
            a = x[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            b = x[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
            np.testing.assert_allclose(got[dy + MAX_LAG, dx + MAX_LAG], (a * b).mean(axis=(0, 1)) / var, atol=1e-10)


@pytest.mark.parametrize("h,w", [(32, 40), (33, 27)])
def test_radial_spectrum_equals_the_full_plane_average(h, w):
    """The half-plane (rfft2) weighting reproduces the ring means of the full-plane periodogram exactly."""
    e = RNG(h).standard_normal((h, w, 3)).cumsum(axis=0)  # correlated along y: much power at fx = 0
    got, filled = radial_spectrum(e)
    x = e - e.mean(axis=(0, 1))
    p = np.abs(np.fft.fft2(x, axes=(0, 1))) ** 2 / (h * w)
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    ring = np.minimum((np.hypot(fy, fx) / RING_MAX * SPECTRUM_BINS + 1e-9).astype(int), SPECTRUM_BINS - 1)
    ring[0, 0] = -1
    for k in range(SPECTRUM_BINS):
        assert filled[k] == (ring == k).any()
        if filled[k]:
            np.testing.assert_allclose(got[k], p[ring == k].mean(axis=0), rtol=1e-10)


def test_identical_real_and_fake_give_zero_distances():
    clean = [_clean(64, 80, i) for i in range(3)]
    real = [c + 0.02 * RNG(10 + i).standard_normal(c.shape) for i, c in enumerate(clean)]
    r = texture_report(clean, real, real)
    assert r["hist_kld"] == 0.0 and r["spectrum_db"] == 0.0 and r["autocorrelation_mae"] == 0.0
    assert r["hist_kld_centred"] == 0.0


def test_scaled_noise_has_the_exact_spectrum_distance():
    clean = [_clean(64, 64, i) for i in range(2)]
    noise = [0.01 * RNG(20 + i).standard_normal(c.shape) for i, c in enumerate(clean)]
    r = texture_report(clean, [c + n for c, n in zip(clean, noise)], [c + 2 * n for c, n in zip(clean, noise)])
    assert r["spectrum_db"] == pytest.approx(20 * math.log10(2), abs=1e-9)  # 6.02 dB at every ring
    assert r["autocorrelation_mae"] == pytest.approx(0, abs=1e-12)  # the shape is the same


def test_hist_kld_is_forward_kl_of_real_to_fake_over_shared_bins():
    assert hist_kld([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(math.log(2))
    assert hist_kld([0.5, 0.0, 0.5], [0.5, 0.5, 0.0]) == 0.0  # only the first bin is non-empty in both
    # residuals of +-2 levels (real) vs -2, 0, +2 levels with 1/4, 1/2, 1/4 (fake): KL(real || fake) = ln 2,
    # while KL(fake || real) over the shared bins would be -ln(2) / 2
    clean = np.full((32, 32, 3), 0.5)
    signs = np.where(RNG(5).random(clean.shape) < 0.5, -1, 1)
    real = clean + signs * 2 / 255
    fake_noise = np.zeros(clean.size)
    fake_noise[: clean.size // 4], fake_noise[clean.size // 4: clean.size // 2] = -2 / 255, 2 / 255
    fake = clean + RNG(6).permutation(fake_noise).reshape(clean.shape)
    r = texture_report([clean], [real], [fake])
    assert r["hist_kld"] == pytest.approx(math.log(2), abs=1e-3)
    p, q = histogram(real - clean), histogram(fake - clean)
    assert hist_kld(q, p) == pytest.approx(-math.log(2) / 2, abs=1e-3)
    assert np.count_nonzero(p) == 2 and p.sum() == pytest.approx(1)


def test_centred_hist_kld_separates_a_brightness_offset_from_the_noise():
    """A real pair whose noisy frame is 4 levels darker (exposure drift): the literature's hist KLD counts the
    shift against zero-mean fake noise of the same shape, the centred one does not; mean_offset shows it."""
    clean = [_clean(64, 64, i) for i in range(2)]
    noise = [0.015 * RNG(40 + i).standard_normal(c.shape) for i, c in enumerate(clean)]
    real = [c + n - 4 / 255 for c, n in zip(clean, noise)]
    fake = [c + 0.015 * RNG(50 + i).standard_normal(c.shape) for i, c in enumerate(clean)]
    r = texture_report(clean, real, fake)
    assert r["hist_kld"] > 0.1 and r["hist_kld_centred"] < 0.02
    assert len(r["hist_kld_centred_per_image"]) == 2
    assert r["real"]["mean_offset"] == pytest.approx([4.0] * 3, abs=0.2)
    assert max(r["fake"]["mean_offset"]) < 0.2
    wide = texture_report(clean, real, [c + 0.03 * RNG(50 + i).standard_normal(c.shape) for i, c in enumerate(clean)])
    assert wide["hist_kld_centred"] > 0.1  # a wrong noise level still shows after centring


def test_several_fake_samples_are_averaged():
    clean = _clean(48, 48, 7)
    real = clean + 0.02 * RNG(8).standard_normal(clean.shape)
    f1, f2 = (clean + s * RNG(9).standard_normal(clean.shape) for s in (0.01, 0.04))
    both = texture_report([clean], [real], [[f1, f2]])["hist_kld"]
    one = [texture_report([clean], [real], [f])["hist_kld"] for f in (f1, f2)]
    assert both == pytest.approx(np.mean(one))


def test_blocky_and_jpeg_noise_are_far_from_white():
    rng = RNG(11)
    white = 0.02 * rng.standard_normal((128, 128, 3))
    blocks = np.kron(0.02 * rng.standard_normal((16, 16, 3)), np.ones((8, 8, 1)))  # constant 8x8 blocks
    assert abs(blockiness(white) - 1) < 0.05
    assert blockiness(blocks + 0.1 * white) > 20
    assert blockiness(np.roll(blocks, 4, axis=(0, 1)) + 0.1 * white) < 0.2  # off the grid: edges inside blocks
    clean = np.full((128, 128, 3), 0.5)
    noisy = np.clip(clean + white, 0, 1)
    buf = io.BytesIO()
    Image.fromarray((noisy * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=75)
    jpeg = np.asarray(Image.open(buf)).astype(np.float64) / 255
    assert blockiness(jpeg - clean) > 1.2


def test_groups_mixed_sizes_and_summary_keys():
    tex = NoiseTexture()
    for i, (h, w, g) in enumerate(((32, 32, "camA"), (64, 48, "camB"), (40, 72, "camA"))):
        c = _clean(h, w, i)
        tex.add(c, c + 0.02 * RNG(30 + i).standard_normal(c.shape), g)
    s = tex.summary()
    assert s["images"] == 3 and sorted(s["nlf_per_group"]) == ["camA", "camB"]
    assert set(s) >= {"std", "nlf", "spectrum", "autocorrelation", "lag1", "lags", "between_channels", "blockiness",
                      "mean_offset"}
    assert np.asarray(s["autocorrelation"]["map"]).shape == (3, 7, 7)
    assert len(s["spectrum"]["power_db"]) == SPECTRUM_BINS and np.isfinite(s["spectrum"]["drop_db"])


def test_bad_inputs_are_one_line_errors():
    c = _clean(15, 40)
    with pytest.raises(TextureError, match=r"40x15: the noise statistics need at least 16x16"):
        residual(c, c)
    with pytest.raises(TextureError, match="differ in size"):
        residual(_clean(32, 32), _clean(32, 33))
    with pytest.raises(TextureError, match="different images"):
        compare(NoiseTexture(), NoiseTexture())
    with pytest.raises(TextureError):
        radial_spectrum(np.zeros((32, 32)))


def test_stochastic_fraction_separates_noise_from_a_deterministic_change():
    from pngan.realism.report import stochastic_fraction

    rng = np.random.default_rng(0)
    clean = rng.uniform(0.2, 0.8, (64, 64, 3))
    n1, n2, d = (rng.normal(0, 0.02, clean.shape) for _ in range(3))
    assert abs(stochastic_fraction(clean, clean + n1, clean + n2) - 1) < 0.03  # pure noise
    assert stochastic_fraction(clean, clean + d, clean + d) == 0  # the same change for every seed
    assert abs(stochastic_fraction(clean, clean + d + n1, clean + d + n2) - 0.5) < 0.03  # half and half
    assert stochastic_fraction(clean, clean, clean) == 0
