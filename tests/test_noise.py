"""Tests for pngan.noise: AWGN, Poisson–Gaussian and camera-pipeline noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data, transform

from pngan.errors import PnganError
from pngan.noise import (
    NOISE_MODELS,
    add_awgn,
    add_camera_noise,
    add_poisson_gaussian,
    awgn_torch,
    get_noise_model,
    poisson_gaussian_torch,
    process,
    sample_params,
    sample_params_torch,
    unprocess,
)
from pngan.noise.camera import CameraNoiseParams, add_raw_noise

KWARGS = {"gaussian": {"sigma": 30}, "poisson-gaussian": {}, "camera": {}}


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return transform.resize(data.astronaut(), (48, 48), anti_aliasing=True).astype(np.float32)


def smooth_image(h: int = 64, w: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / 64.0
    chans = [0.1 + 0.56 * xx, 0.15 + 0.6 * yy, 0.4 + 0.3 * np.sin(2 * xx + yy)]
    return np.stack(chans, -1).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.mark.parametrize("name", sorted(NOISE_MODELS))
def test_seeded_determinism(name: str, astro: np.ndarray) -> None:
    fn = get_noise_model(name)
    a = fn(astro, 7, **KWARGS[name])
    b = fn(astro, np.random.default_rng(7), **KWARGS[name])
    c = fn(astro, 8, **KWARGS[name])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(NOISE_MODELS))
def test_quantized_output_is_8bit(name: str, astro: np.ndarray) -> None:
    y = get_noise_model(name)(astro, 0, **KWARGS[name])
    assert y.dtype == np.float32 and y.shape == astro.shape
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert np.allclose(y * 255.0, np.round(y * 255.0), atol=1e-3)


@pytest.mark.parametrize("sigma", [30, 50, 70])
def test_awgn_std(sigma: float) -> None:
    grey = np.full((256, 256, 3), 0.5, np.float32)
    y = add_awgn(grey, sigma, 0, quantize=False)
    assert abs((y - grey).std() / (sigma / 255.0) - 1.0) < 0.03


def test_awgn_torch_per_sample_sigma() -> None:
    x = torch.full((2, 3, 128, 128), 0.5)
    y = awgn_torch(x, torch.tensor([10.0, 50.0]), torch.Generator().manual_seed(0))
    std = (y - x).std(dim=(1, 2, 3)) * 255.0
    assert torch.allclose(std, torch.tensor([10.0, 50.0]), rtol=0.03)


@pytest.mark.parametrize("exact", [False, True])
def test_poisson_gaussian_variance(exact: bool) -> None:
    a, b = 0.005, 1e-4
    var = []
    for level in (0.05, 0.6):
        flat = np.full((256, 256, 3), level, np.float32)
        y = add_poisson_gaussian(flat, 1, shot=a, read=b, exact=exact, quantize=False)
        var.append((y - flat).var())
        if not exact:
            assert abs(var[-1] / (a * level + b) - 1.0) < 0.10
    assert var[1] > 3 * var[0]


def test_poisson_gaussian_per_channel_and_sampling() -> None:
    flat = np.full((128, 128, 3), 0.5, np.float32)
    shot = np.array([1e-3, 4e-3, 1.6e-2])
    y = add_poisson_gaussian(flat, 0, shot=shot, read=0.0, quantize=False)
    std = (y - flat).std(axis=(0, 1))
    assert np.allclose(std, np.sqrt(shot * 0.5), rtol=0.05)
    a, b = sample_params(3)
    assert a.shape == b.shape == (3,)
    assert np.all((a > 5e-5) & (a < 2e-2)) and np.all(b > 0)
    with pytest.raises(PnganError):
        add_poisson_gaussian(flat, 0, shot=-1.0)


def test_poisson_gaussian_torch_batched() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = sample_params_torch(4, g)
    assert a.shape == b.shape == (4, 3)
    x = torch.full((4, 3, 128, 128), 0.5)
    for exact in (False, True):
        y = poisson_gaussian_torch(x, a, b, g, exact=exact)
        assert torch.allclose((y - x).std(dim=(2, 3)), (a * 0.5 + b).sqrt(), rtol=0.05)


def test_camera_roundtrip_without_noise() -> None:
    img = smooth_image()
    for seed in range(3):
        raw, meta = unprocess(img, seed)
        assert raw.shape == (32, 40, 4) and raw.dtype == np.float32
        assert raw.min() >= 0.0 and raw.max() <= 1.0
        assert psnr(process(raw, meta), img) > 40.0


def test_camera_odd_size(astro: np.ndarray) -> None:
    img = astro[:37, :45]
    raw, meta = unprocess(img, 0)
    assert raw.shape == (19, 23, 4)
    assert process(raw, meta).shape == (37, 45, 3)
    for quantize in (True, False):
        y = add_camera_noise(img, 0, quantize=quantize)
        assert y.shape == (37, 45, 3) and y.dtype == np.float32
        assert y.min() >= 0.0 and y.max() <= 1.0
    assert psnr(process(*unprocess(smooth_image(37, 45), 0)), smooth_image(37, 45)) > 40.0


def test_camera_noise_is_signal_dependent() -> None:
    params = CameraNoiseParams(shot=2e-3, read=1e-5)
    raw_dark, raw_bright = np.full((128, 128, 4), 0.02), np.full((128, 128, 4), 0.5)
    v_dark = (add_raw_noise(raw_dark, params, 0) - raw_dark).var()
    v_bright = (add_raw_noise(raw_bright, params, 0) - raw_bright).var()
    assert abs(v_bright / (0.5 * params.shot + params.read) - 1.0) < 0.1
    assert v_bright > 10 * v_dark
    stds = []
    for level in (0.05, 0.3):
        flat = np.full((128, 128, 3), level, np.float32)
        clean = process(*unprocess(flat, 4))
        stds.append((add_camera_noise(flat, 4, params=params, quantize=False) - clean).std())
    assert stds[1] > 1.3 * stds[0] or stds[0] > 1.3 * stds[1]
    assert min(stds) > 1.0 / 255.0


def test_camera_params_forms(astro: np.ndarray) -> None:
    a = add_camera_noise(astro, 5, params=(1e-3, 1e-5))
    b = add_camera_noise(astro, 5, params={"shot": 1e-3, "read": 1e-5})
    assert np.array_equal(a, b)
    with pytest.raises(PnganError):
        add_camera_noise(astro, 5, params={"shot": 1e-3})


def test_unknown_model_and_bad_input() -> None:
    with pytest.raises(PnganError, match="gaussian"):
        get_noise_model("speckle")
    with pytest.raises(PnganError):
        get_noise_model("gaussian")(np.zeros((4, 4, 3), np.float32), 0)
    with pytest.raises(PnganError):
        add_awgn(np.zeros((4, 4), np.float32), 10, 0)
