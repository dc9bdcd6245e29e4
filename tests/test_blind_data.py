"""Blind training mix (pngan/train/blind.py): determinism per (seed, rank, step), fractions, noise range, JPEG."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pngan.errors import PnganError
from pngan.train.blind import SOURCES, BlindBank, BlindMix, camera_noisy, jpeg


def _img(seed: int, h: int = 48, w: int = 40) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(30, 220, (3, h, w), dtype=np.uint8))


def _bank(mix: BlindMix, gen=None, seed: int = 0, rank: int = 0, patch: int = 32, batch: int = 8,
          pool: list | None = None) -> BlindBank:
    real = [(_img(i + 10), _img(i)) for i in range(3)] if pool is None else []
    clean = pool if pool is not None else [c for _, c in real]
    return BlindBank(real, clean, mix, gen, patch=patch, batch=batch, seed=seed, rank=rank)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: small work, 1 torch thread


@pytest.fixture(scope="module")
def generator():
    from pngan.models import load_model

    return load_model("smnet-s")


def test_same_seed_and_step_same_batch(generator):
    mix = BlindMix(real=1, generator=1, camera=1)
    a, b = _bank(mix, generator), _bank(mix, generator)
    x, y = a[5], b[5]
    assert set(x) == {"noisy", "clean", "source", "sigma", "jpeg"}
    assert all(torch.equal(x[k], y[k]) for k in x)
    assert all(torch.equal(x[k], a[5][k]) for k in x)  # no hidden state: asking twice gives the same batch
    assert not torch.equal(a[6]["noisy"], x["noisy"])
    assert not torch.equal(_bank(mix, generator, seed=1)[5]["noisy"], x["noisy"])
    assert not torch.equal(_bank(mix, generator, rank=1)[5]["noisy"], x["noisy"])
    assert set(x["source"].tolist()) <= {0, 1, 2} and x["noisy"].shape == (8, 3, 32, 32)


def test_mix_fractions_are_honored(generator):
    mix = BlindMix(real=2, generator=1, camera=1)
    bank = _bank(mix, generator, patch=16)
    src = torch.cat([bank[s]["source"] for s in range(64)])
    got = np.bincount(src.numpy(), minlength=3) / len(src)
    assert np.allclose(got, [0.5, 0.25, 0.25], atol=0.05), dict(zip(SOURCES, got))
    only_real = torch.cat([_bank(BlindMix(real=1, camera=0))[s]["source"] for s in range(5)])
    assert (only_real == 0).all()


def test_real_samples_are_crops_of_the_real_pairs():
    clean = [_img(i) for i in range(3)]
    real = [(c + 10, c) for c in clean]  # noisy = clean + 10 everywhere: a real crop keeps its pair's offset
    b = BlindBank(real, clean, BlindMix(real=1, camera=1, jpeg_prob=0.0), patch=16, batch=16)[0]
    diff = ((b["noisy"] - b["clean"]) * 255).round()
    is_real = b["source"] == 0
    assert 0 < int(is_real.sum()) < 16
    assert (diff[is_real] == 10).all() and (b["jpeg"][is_real] == 0).all() and (b["sigma"][is_real] == 0).all()
    assert not (diff[~is_real] == 10).all()


def test_camera_noise_level_range_on_flat_gray():
    gray = [torch.full((3, 64, 64), 128, dtype=torch.uint8)]
    mix = BlindMix(real=0, camera=1, camera_sigma=(15.0, 40.0), jpeg_prob=0.0)
    bank = _bank(mix, pool=gray, patch=64, batch=4)
    targets, measured = [], []
    for s in range(8):
        b = bank[s]
        assert (b["source"] == 2).all() and (b["jpeg"] == 0).all()
        for i in range(4):
            n = b["noisy"][i].numpy() * 255
            measured.append(float((n - n.mean(axis=(1, 2), keepdims=True)).std()))
            targets.append(float(b["sigma"][i]))
    t, m = np.array(targets), np.array(measured)
    assert t.min() >= 15.0 and t.max() <= 40.0 and t.max() / t.min() > 1.6  # drawn over the range
    assert np.all(np.abs(m / t - 1) < 0.15), np.round(np.c_[t, m], 1)  # the std on a flat gray image is the target
    assert abs(np.log(np.median(t)) - np.log(np.sqrt(15 * 40))) < 0.35  # log-uniform: median near the geometric mean


def test_camera_noise_is_signal_dependent_and_correlated():
    ramp = np.repeat(np.linspace(0.05, 0.95, 64, dtype=np.float32)[None, :, None], 64, 0).repeat(3, 2)
    y = camera_noisy(ramp, 25.0, (1, 2, 3)) - ramp
    dark, bright = y[:, 4:16].std(), y[:, 40:52].std()
    assert dark != pytest.approx(bright, rel=0.1)  # not AWGN: the level depends on the signal
    flat = np.full((64, 64, 3), 0.5, np.float32)
    n = (camera_noisy(flat, 25.0, (4,)) - 0.5)[..., 1]
    corr = np.corrcoef(n[:, :-1].ravel(), n[:, 1:].ravel())[0, 1]
    assert corr > 0.1  # demosaicking correlates neighbouring pixels


def test_jpeg_is_applied_at_the_drawn_quality():
    mix = BlindMix(real=0, camera=1, jpeg_prob=1.0, jpeg_quality=(70, 95))
    bank = _bank(mix, patch=32, batch=4)
    b = bank[3]
    q = b["jpeg"].tolist()
    assert all(70 <= v <= 95 for v in q)
    img = np.full((32, 32, 3), 0.4, np.float32)
    plain = camera_noisy(img, 20.0, (7,))
    for quality in (70, 95):
        assert np.array_equal(camera_noisy(img, 20.0, (7,), quality), jpeg(plain, quality))
        assert not np.array_equal(jpeg(plain, quality), plain)
    never = _bank(BlindMix(real=0, camera=1, jpeg_prob=0.0), patch=32, batch=4)[3]
    assert (never["jpeg"] == 0).all()


@pytest.mark.parametrize("kw, msg", [({"real": 0}, "not all 0"), ({"camera": -1}, ">= 0"),
                                     ({"camera_sigma": (40, 15)}, "low <= high"),
                                     ({"jpeg_quality": (50, 101)}, "1..100"), ({"jpeg_prob": 2}, r"\[0, 1\]"),
                                     ({"camera_target": "noisy"}, "camera_target"),
                                     ({"generator_strength": (3, 2)}, "generator_strength"),
                                     ({"generator_strength": (0, 2)}, "generator_strength")])
def test_bad_mix_is_one_error(kw, msg):
    with pytest.raises(PnganError, match=msg):
        BlindMix(**kw)


def test_pipeline_target_differs_from_the_noisy_image_by_noise_only():
    """camera_target="pipeline": the target is the demosaicked clean image, so on a sharp image the pair is
    far closer than against the clean image (demosaicing is not in the residual); at low noise the residual
    is about that noise; "clean" keeps the clean crop as target."""
    from pngan.assets.samples import sample_image

    sharp = [torch.from_numpy(np.round(sample_image("coffee")[:64, :64] * 255).astype(np.uint8)).permute(2, 0, 1)]
    kw = dict(real=0, camera=1, jpeg_prob=0.0, camera_sigma=(2.0, 2.0))
    piped = _bank(BlindMix(**kw, camera_target="pipeline"), pool=sharp, patch=64, batch=2)[0]
    plain = _bank(BlindMix(**kw), pool=sharp, patch=64, batch=2)[0]
    assert torch.equal(piped["noisy"], plain["noisy"])  # same noisy images, only the target changes
    assert not torch.equal(piped["clean"], plain["clean"])
    mse_piped = float(((piped["noisy"] - piped["clean"]) * 255).square().mean())
    mse_plain = float(((plain["noisy"] - plain["clean"]) * 255).square().mean())
    assert mse_piped < 0.25 * mse_plain and mse_piped < 4 * 2.0 ** 2, (mse_piped, mse_plain)


def test_generator_strength_scales_a_noise_given_generators_residual(generator):
    """data.generator_strength: smnet-n pairs' residual std follows the strength drawn per sample (log-uniform in
    the range, carried in ``sigma``); a generator fed clean + AWGN (smnet-s) refuses a range other than [1, 1]."""
    from pngan.models import load_model

    gray = [torch.full((3, 48, 48), 128, dtype=torch.uint8)]
    gen = load_model(None, "smnet-n_polyu")
    b = _bank(BlindMix(real=0, generator=1, generator_strength=(1.0, 4.0)), gen, pool=gray, patch=32, batch=4)
    s = torch.cat([b[t]["sigma"] for t in range(4)])
    std = torch.cat([(b[t]["noisy"] - b[t]["clean"]).flatten(1).std(1) * 255 for t in range(4)])
    assert ((s >= 1.0) & (s <= 4.0)).all() and float(s.max() / s.min()) > 1.5, s
    ratio = std / s  # the noise std at strength 1, about constant on flat gray
    assert float(ratio.std() / ratio.mean()) < 0.2 and float(torch.corrcoef(torch.stack([s, std]))[0, 1]) > 0.9
    one = _bank(BlindMix(real=0, generator=1), gen, pool=gray, patch=32, batch=4)[0]
    assert (one["sigma"] == 1.0).all()
    for strengths in ((1.0, 2.0), (0.5, 1.0)):
        with pytest.raises(PnganError, match="given its noise"):
            _bank(BlindMix(real=1, generator=1, generator_strength=strengths), generator)


def test_missing_sources_are_errors():
    with pytest.raises(PnganError, match="needs a noise generator"):
        _bank(BlindMix(real=1, generator=1))
    with pytest.raises(PnganError, match="smaller than patch"):
        _bank(BlindMix(real=1, camera=1), patch=64)


def test_denoiser_stage_uses_the_mix(tmp_path):
    from pngan.io.images import write_image
    from pngan.train.config import load_config
    from pngan.train.session import start_session
    from pngan.train.stages import DenoiserStage

    for i in range(2):
        c = np.random.default_rng(i).random((40, 40, 3)).astype(np.float32)
        write_image(tmp_path / "pairs" / "groundtruth" / f"im{i}_mean.png", c)
        write_image(tmp_path / "pairs" / "input" / f"im{i}_real.png", np.clip(c + 0.02, 0, 1))
    cfg = load_config(None, [f"data.train_dir={tmp_path / 'pairs'}", f"run.out_dir={tmp_path / 'run'}",
                             "data.patch=16", "data.batch=4", "data.mix_camera=1", "data.mix_real=1",
                             "model.denoiser=nafunet-s", "model.denoiser_weights=", "run.threads=1",
                             'model.denoiser_config={width = 4, enc_blocks = [1], dec_blocks = [1]}'])
    s = start_session(cfg.run, tmp_path / "run")
    try:
        stage = DenoiserStage(cfg, s)
        assert isinstance(stage.bank, BlindBank)
        out = stage.train_step(stage.bank[0], 0)
        assert np.isfinite(out["loss/l1"])
    finally:
        s.close()


ARMS = {"all": [], "real": ["data.mix_generator=0", "data.mix_camera=0"], "real+gen": ["data.mix_camera=0"],
        "real+camera": ["data.mix_generator=0"]}


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_blind_configs_and_their_ablation_arms(tmp_path, arm):
    from pathlib import Path

    from pngan.io.images import write_image
    from pngan.train.config import load_config
    from pngan.train.data import CropBank
    from pngan.train.session import start_session
    from pngan.train.stages import DenoiserStage

    root = Path(__file__).resolve().parents[1] / "scripts" / "configs" / "trials"  # trained, not shipped
    for v in ("s", "m", "l"):
        cfg = load_config(root / f"nafunet-{v}_blind.toml")
        assert cfg.model.denoiser == f"nafunet-{v}" and cfg.model.denoiser_weights == ""
    c = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    write_image(tmp_path / "p" / "groundtruth" / "a_mean.png", c)
    write_image(tmp_path / "p" / "input" / "a_real.png", np.clip(c + 0.01, 0, 1))
    over = [f"data.train_dir={tmp_path / 'p'}", f"run.out_dir={tmp_path / 'r'}", *ARMS[arm]]
    cfg = load_config(root / "nafunet-s_blind.toml", over)
    s = start_session(cfg.run, tmp_path / "r")
    try:
        bank = DenoiserStage(cfg, s).bank
    finally:
        s.close()
    if arm == "real":
        assert isinstance(bank, CropBank)
    else:
        want = {"all": [1, 1, 1], "real+gen": [1, 1, 0], "real+camera": [1, 0, 1]}[arm]
        assert np.allclose(bank.mix.fractions, np.array(want) / sum(want))
