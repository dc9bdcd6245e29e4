"""The texture losses of stage pngan (power spectrum, value distribution) against closed-form values."""

from __future__ import annotations

import pytest

import math

import torch
import torch.nn.functional as F

from pngan.train.losses import (SPECTRUM_FLOOR, noise_chroma_loss, noise_power_spectrum, noise_quantile_loss,
                                noise_spectrum_loss)

pytestmark = pytest.mark.slow


def _white(sigma: float, shape=(4, 3, 32, 32), seed=0) -> torch.Tensor:
    return sigma * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _box2(e: torch.Tensor) -> torch.Tensor:
    """Average of each pixel and its right neighbour (circular): lag-1 correlation 0.5, low-pass spectrum."""
    return 0.5 * (e + torch.roll(e, 1, dims=3))


def test_spectrum_of_white_noise_is_flat_at_its_variance():
    clean = torch.full((64, 3, 32, 32), 0.5)
    s = 4 / 255
    p = noise_power_spectrum(clean + _white(s, (64, 3, 32, 32)), clean)
    assert p.shape == (6, 16, 16)
    rgb = p[:3].flatten(1)[:, 1:]  # the DC bin is removed with the mean
    assert abs(rgb.mean().item() / s**2 - 1) < 0.05  # orthonormal FFT: E|F|^2 = sigma^2
    assert abs(p[3:].flatten(1)[:, 1:].mean().item() / (2 * s**2) - 1) < 0.05  # independent channels add


def test_spectrum_loss_zero_for_equal_noise_and_sees_correlation():
    clean = torch.full((8, 3, 32, 32), 0.5)
    e = _white(3 / 255, (8, 3, 32, 32))
    assert noise_spectrum_loss(clean + e, clean + e, clean).item() == 0
    # correlated (box-filtered) real noise vs white fake of the same variance: the spectra differ
    corr = _box2(e) * math.sqrt(2)
    assert abs(corr.std().item() / e.std().item() - 1) < 0.1
    assert noise_spectrum_loss(clean + e, clean + corr, clean).item() > 0.5
    # a 2x scale of the noise is a constant ln 4 ratio wherever the power is far above the floor
    loud = _white(20 / 255, (8, 3, 32, 32))
    val = noise_spectrum_loss(clean + 2 * loud, clean + loud, clean).item()
    assert abs(val - math.log(4)) < 0.02, val
    assert SPECTRUM_FLOOR < (1 / 255) ** 2


def test_spectrum_loss_gradient_moves_fake_towards_real_texture():
    clean = torch.full((8, 3, 32, 32), 0.5)
    real = clean + _box2(_white(6 / 255, seed=1, shape=(8, 3, 32, 32))) * math.sqrt(2)
    w = torch.zeros(1, 1, 1, 2, requires_grad=True)  # a learned horizontal 2-tap filter on white noise
    z = _white(6 / 255, seed=2, shape=(8, 3, 32, 32))
    opt = torch.optim.Adam([w], lr=0.05)
    with torch.no_grad():
        w[:] = torch.tensor([1.0, 0.0])  # start white
    first = None
    for _ in range(150):
        fz = F.conv2d(F.pad(z.reshape(-1, 1, 32, 32), (1, 0, 0, 0), mode="circular"), w).reshape(z.shape)
        loss = noise_spectrum_loss(clean + fz, real, clean)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    a, b = w.detach().flatten().abs().tolist()
    assert loss.item() < 0.6 * first and min(a, b) / max(a, b) > 0.6  # learned to mix neighbours


def test_chroma_loss_sees_channels_that_move_together():
    """Grey noise (R = G = B) against independent channels of the same power: the spectrum loss sees the sums'
    power change by ln 2 on half its mixes; the chroma loss sees the differences' power vanish."""
    clean = torch.full((16, 3, 32, 32), 0.5)
    real = _white(4 / 255, (16, 3, 32, 32))
    grey = real[:, :1].expand(-1, 3, -1, -1)
    assert noise_chroma_loss(clean + real, clean + real, clean).item() == 0
    chroma = noise_chroma_loss(clean + grey, clean + real, clean).item()
    spectrum = noise_spectrum_loss(clean + grey, clean + real, clean).item()
    # differences of grey noise are exactly 0: ln((2 s^2) / floor) ~ 8.5 nats; the sums: about ln 2 / 2
    assert chroma > 7.0 and spectrum < 0.6, (chroma, spectrum)
    half = 0.5 * grey + math.sqrt(0.75) * real  # G - B keeps 0.75 of its power: |ln 0.75| = 0.29 there
    assert 0.2 < noise_chroma_loss(clean + half, clean + real, clean).item() < chroma


def test_quantile_loss_closed_form():
    clean = torch.full((2, 3, 16, 16), 0.5)
    e = _white(3 / 255, (2, 3, 16, 16))
    assert noise_quantile_loss(clean + e, clean + e, clean).item() == 0
    shifted = noise_quantile_loss(clean + e + 1 / 255, clean + e, clean).item()
    assert abs(shifted - 1.0) < 1e-4  # a one-step shift of every value: W1 = 1 step
    # permuting pixels changes nothing (a distribution, not an image, is compared)
    perm = e.flatten(2)[:, :, torch.randperm(256)].reshape(e.shape)
    assert noise_quantile_loss(clean + perm, clean + e, clean).item() < 1e-5
    # a 2x wider fake: W1 = E|e| in steps = sigma * sqrt(2/pi) for Gaussian values
    wide = noise_quantile_loss(clean + 2 * e, clean + e, clean).item()
    assert abs(wide - e.abs().mean().item() * 255) < 1e-3


def _tiny_pairs(root):
    """Two 48x48 coffee crops with Gaussian noise (std 0.02) as paired ``root``; returns the coffee image."""
    import numpy as np

    from pngan.io.images import write_image
    from pngan.assets.samples import sample_image

    img = sample_image("coffee")
    rng = np.random.default_rng(0)
    for i in range(2):
        c = img[i * 40:i * 40 + 48, :48]
        write_image(root / "groundtruth" / f"a{i}_mean.png", c)
        write_image(root / "input" / f"a{i}_real.png", np.clip(c + rng.normal(0, 0.02, c.shape), 0, 1))
    return img


def test_preflight_refuses_bad_texture_settings(tmp_path):
    import pytest

    from pngan.errors import PnganError
    from pngan.train.config import load_config
    from pngan.train.preflight import preflight

    with pytest.raises(PnganError, match="texture_on"):
        preflight("pngan", load_config(None, ["experimental.texture_on=both"]), pairs_given=True)
    with pytest.raises(PnganError, match="not a generator"):  # a denoiser's weights as the starting generator
        preflight("pngan", load_config(None, ["model.generator_weights=dncnn_polyu"]), pairs_given=True)
    with pytest.raises(PnganError, match="no such file"):
        preflight("pngan", load_config(None, [f"model.generator_weights={tmp_path / 'g.safetensors'}"]),
                  pairs_given=True)


def test_pngan_stage_with_texture_losses_starts_from_given_weights(tmp_path):
    """Two steps of stage pngan with both texture losses on each residual, starting from saved generator weights:
    the logged terms are non-zero, and step 0's generator equals the given weights (not a fresh init)."""
    import csv

    from pngan.models import build, save_weights
    from pngan.train.config import load_config
    from pngan.train.loop import train
    from pngan.train.session import Session
    from pngan.train.stages import PnganStage

    _tiny_pairs(tmp_path / "d")
    torch.manual_seed(3)
    g = build("smnet-s", n_feat=8)
    save_weights(g, tmp_path / "g.safetensors")
    for mode in ("total", "stochastic"):
        over = [f"data.train_dir={tmp_path / 'd'}", f"run.out_dir={tmp_path / mode}", "data.patch=32", "data.batch=2",
                "model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}",
                f"model.generator_weights={tmp_path / 'g.safetensors'}", "loss.noise_spectrum=1.0",
                "loss.noise_quantile=0.3", "loss.noise_chroma=0.5", f"experimental.texture_on={mode}", "optim.steps=2",
                "run.val_every=0", "run.log_every=1", "run.image_every=0", "run.ckpt_every=0"]
        cfg = load_config(None, over)
        stage = PnganStage(cfg, Session(device=torch.device("cpu")))
        start = stage.modules()["g"].state_dict()
        assert all(torch.equal(start[k], v) for k, v in g.state_dict().items())
        train("pngan", cfg, progress=False)
        assert (tmp_path / mode / "checkpoints" / "last.pt").is_file()  # run.ckpt_every=0: saved at exit only
        rows = list(csv.DictReader(open(tmp_path / mode / "losses.csv")))
        assert len(rows) == 2 and all(float(r["loss/noise_spectrum"]) > 0 and float(r["loss/noise_quantile"]) > 0
                                      and float(r["loss/noise_chroma"]) > 0 for r in rows)


def test_content_change_sees_only_what_the_seed_does_not_change():
    """E[r1 r2] / real power: 0 for pure noise at any level, d^2 / power for a fixed change d of the content."""
    from pngan.train.losses import content_change_loss

    g = torch.Generator().manual_seed(0)
    clean = torch.rand(4, 3, 64, 64, generator=g)
    real = clean + 0.02 * torch.randn(clean.shape, generator=g)
    power = float((real - clean).square().mean())

    def sample(d: float, s: float) -> torch.Tensor:
        return clean + d + s * torch.randn(clean.shape, generator=g)

    pure = float(content_change_loss(sample(0, 0.02), sample(0, 0.02), real, clean))
    fixed = float(content_change_loss(sample(0.01, 0.02), sample(0.01, 0.02), real, clean))
    same = float(content_change_loss(sample(0.01, 0.0), sample(0.01, 0.0), real, clean))
    assert abs(pure) < 0.02  # pure noise: no content change seen (estimate std about 0.005)
    assert abs(fixed - 0.01 ** 2 / power) < 0.03 and abs(same - 0.01 ** 2 / power) < 1e-3
    f1 = sample(0.01, 0.04).requires_grad_(True)
    content_change_loss(f1, sample(0.01, 0.04), real, clean).backward()
    assert f1.grad is not None and torch.isfinite(f1.grad).all()


def test_sharp_content_trains_on_clean_only_crops_and_refuses_without_them(tmp_path):
    """experimental.sharp_content: refused before anything is written without data.clean_dir or with an empty one; on
    the clean-only crops it reads ~0 for a generator that only adds noise and d^2 / real power for one that also
    shifts the content by d; a run logs its column."""
    import csv

    import pytest

    from pngan.errors import PnganError
    from pngan.io.images import write_image
    from pngan.train.config import load_config
    from pngan.train.loop import train
    from pngan.train.preflight import preflight
    from pngan.train.session import Session
    from pngan.train.stages import PnganStage

    img = _tiny_pairs(tmp_path / "d")
    for i in range(2):
        write_image(tmp_path / "sharp" / f"s{i}.png", img[100:164, i * 64:i * 64 + 64])
    (tmp_path / "empty").mkdir()
    base = [f"data.train_dir={tmp_path / 'd'}", "data.patch=32", "data.batch=8", "model.generator_config={n_feat=8}",
            "model.discriminator_config={n_feat=8, depth=2}", "experimental.sharp_content=1.0", "optim.steps=2",
            "run.val_every=0", "run.log_every=1", "run.image_every=0", "run.ckpt_every=0", "model.input_sigma=5"]
    with pytest.raises(PnganError, match="needs data.clean_dir"):
        preflight("pngan", load_config(None, base), pairs_given=True)
    with pytest.raises(PnganError, match="no images"):
        preflight("pngan", load_config(None, base + [f"data.clean_dir={tmp_path / 'empty'}"]), pairs_given=True)
    cfg = load_config(None, base + [f"data.clean_dir={tmp_path / 'sharp'}", f"run.out_dir={tmp_path / 'run'}"])
    stage = PnganStage(cfg, Session(device=torch.device("cpu")))
    clean = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    real = clean + 0.02 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    power = float((real - clean).square().mean())

    class Shift(torch.nn.Module):
        def __init__(self, d: float) -> None:
            super().__init__()
            self.d = d

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.d

    stage.g = Shift(0.0)  # output = the input: clean + AWGN, pure noise
    assert abs(float(stage.sharp_content(0, real, clean))) < 0.05
    stage.g = Shift(0.03)
    assert abs(float(stage.sharp_content(0, real, clean)) - 0.03 ** 2 / power) < 0.1 * 0.03 ** 2 / power
    train("pngan", cfg, progress=False)
    rows = list(csv.DictReader(open(tmp_path / "run" / "losses.csv")))
    assert len(rows) == 2 and all(float(r["loss/sharp_content"]) != 0 for r in rows)
