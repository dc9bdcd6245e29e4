"""What training computes, checked from outside: RaGAN losses on hand-made logits, the frozen alignment
denoiser, the generator's AWGN input, the finetune stage end to end, PGap on separate train/test folders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage import data

from pngan.data.pairs import find_pairs
from pngan.io.images import read_image, write_image
from pngan.train.config import load_config
from pngan.train.losses import ragan_d_loss, ragan_g_loss

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}",
        "data.patch=16", "data.batch=2", "run.val_every=0", "run.log_every=1", "run.image_every=0",
        "run.threads=1", "run.ckpt_every=1000"]


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# ------------------------------------------------------------------ RaGAN losses, by hand

def _logits(rows: list[list[float]]) -> torch.Tensor:
    """(N, 1, 1, P) logits: N batch items, P pixels."""
    return torch.tensor(rows, dtype=torch.float64)[:, None, None, :]


def test_ragan_d_loss_on_hand_made_logits():
    # batch of 2, one pixel: real [2, 0] (mean 1), fake [-1, 1] (mean 0)
    # real_rel = real - mean(fake) = [2, 0]; fake_rel = fake - mean(real) = [-2, 0]
    # D wants real_rel -> 1: BCE = softplus(-x); fake_rel -> 0: BCE = softplus(x)
    real, fake = _logits([[2.0], [0.0]]), _logits([[-1.0], [1.0]])
    want = ((softplus(-2) + softplus(0)) / 2 + (softplus(-2) + softplus(0)) / 2) / 2
    assert ragan_d_loss(real, fake).item() == pytest.approx(want, rel=1e-12)


def test_ragan_g_loss_swaps_the_labels():
    real, fake = _logits([[2.0], [0.0]]), _logits([[-1.0], [1.0]])
    # G wants real_rel = [2, 0] -> 0 and fake_rel = [-2, 0] -> 1
    want = ((softplus(2) + softplus(0)) / 2 + (softplus(2) + softplus(0)) / 2) / 2
    assert ragan_g_loss(real, fake).item() == pytest.approx(want, rel=1e-12)


def test_ragan_is_relative_to_the_batch_mean_per_pixel():
    # two pixels with different statistics: the average is taken over the batch at each pixel,
    # not over the pixels (a global mean would give another value)
    real = _logits([[3.0, -1.0], [1.0, 0.5]])   # per-pixel batch means: 2, -0.25
    fake = _logits([[0.0, 2.0], [-2.0, 1.0]])   # per-pixel batch means: -1, 1.5
    real_rel = [[3 + 1, -1 - 1.5], [1 + 1, 0.5 - 1.5]]
    fake_rel = [[0 - 2, 2 + 0.25], [-2 - 2, 1 + 0.25]]
    d = (np.mean([softplus(-v) for r in real_rel for v in r]) + np.mean([softplus(v) for r in fake_rel for v in r])) / 2
    g = (np.mean([softplus(v) for r in real_rel for v in r]) + np.mean([softplus(-v) for r in fake_rel for v in r])) / 2
    assert ragan_d_loss(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert ragan_g_loss(real, fake).item() == pytest.approx(g, rel=1e-12)
    # equal logits everywhere: every relative logit is 0 and both losses are ln 2
    same = _logits([[0.7, 0.7], [0.7, 0.7]])
    assert ragan_d_loss(same, same).item() == pytest.approx(math.log(2))


def test_ragan_gradients_go_where_they_should():
    real = _logits([[2.0], [0.0]]).requires_grad_(True)
    fake = _logits([[-1.0], [1.0]]).requires_grad_(True)
    ragan_g_loss(real, fake).backward()
    assert real.grad is None  # the generator loss treats the real logits as constants
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    real.grad, fake.grad = None, None
    ragan_d_loss(real, fake).backward()
    assert real.grad.abs().sum() > 0 and fake.grad.abs().sum() > 0
    # the discriminator loss falls when real logits rise: d loss / d real[0] < 0
    assert real.grad[0].item() < 0


# ------------------------------------------------------------------ data

def _photo(i: int, h: int = 40, w: int = 40) -> np.ndarray:
    src = (data.astronaut(), data.coffee(), data.chelsea(), data.rocket())[i % 4]
    return src[60:60 + 2 * h:2, 80:80 + 2 * w:2].astype(np.float32) / 255.0


def _pairs(root: Path, n: int, h: int, w: int, sigma: float, seed: int, offset: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        clean = _photo(i + offset, h, w)
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1)
        write_image(root / "input" / f"p{i + offset}_real.png", noisy)
        write_image(root / "groundtruth" / f"p{i + offset}_mean.png", clean)
    return root


@pytest.fixture(scope="module")
def train_pairs(tmp_path_factory) -> Path:
    return _pairs(tmp_path_factory.mktemp("train"), 3, 40, 40, 0.04, 0)


# ------------------------------------------------------------------ the pngan stage

@pytest.fixture
def make_stage(train_pairs: Path, tmp_path: Path):
    """``make_stage(*overrides)``: a PnganStage on the tiny config; its session is closed afterwards."""
    from pngan.train.session import start_session
    from pngan.train.stages import PnganStage

    sessions = []

    def make(*extra: str) -> PnganStage:
        out = tmp_path / f"run{len(sessions)}"
        cfg = load_config(None, [f"data.train_dir={train_pairs}", f"run.out_dir={out}", *TINY, *extra])
        sessions.append(start_session(cfg.run, out))
        torch.manual_seed(0)
        return PnganStage(cfg, sessions[-1])

    yield make
    for s in sessions:
        s.close()


def _state(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def test_alignment_denoiser_stays_frozen_while_generator_and_discriminator_learn(make_stage):
    from pngan.train.session import unwrap

    stage = make_stage("optim.lr_g=0.01", "optim.lr_d=0.01")
    dn, g, d = unwrap(stage.dn), unwrap(stage.g), unwrap(stage.d)
    dn0, g0, d0 = _state(dn), _state(g), _state(d)
    assert not dn.training and all(not p.requires_grad for p in dn.parameters())
    for step in range(3):
        scalars = stage.train_step(stage.bank[step], step)
        assert np.isfinite(list(scalars.values())).all()
        assert scalars["loss/alignment"] > 0  # the denoiser was used (fake and real differ)
    assert all(p.grad is None for p in dn.parameters())
    assert not dn.training
    assert all(torch.equal(dn0[k], v) for k, v in dn.state_dict().items())  # weights and buffers
    assert any(not torch.equal(g0[k], v) for k, v in g.state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in d.state_dict().items())


def test_alignment_loss_reaches_the_generator_through_the_frozen_denoiser(make_stage):
    """With only the alignment term, the generator still gets gradients (through Dn), Dn none."""
    from pngan.train.session import unwrap

    stage = make_stage("loss.adversarial=0", "loss.noise_std=0", "loss.fidelity=0", "loss.noise_kl=0")
    g0 = _state(unwrap(stage.g))
    stage.train_step(stage.bank[0], 0)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in unwrap(stage.g).parameters())
    assert all(p.grad is None for p in unwrap(stage.dn).parameters())
    assert any(not torch.equal(g0[k], v) for k, v in unwrap(stage.g).state_dict().items())


@pytest.mark.parametrize("sigma", [5.0, 20.0])
def test_generator_input_is_clean_plus_awgn_at_input_sigma(sigma, make_stage):
    stage = make_stage(f"model.input_sigma={sigma}")
    seen: list[torch.Tensor] = []
    stage.g.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    batch = stage.bank[0]
    stage.train_step(batch, 0)
    assert len(seen) == 1
    n = (seen[0] - batch["clean"]).double()  # what the generator was fed, minus the clean crops
    s = sigma / 255.0
    assert abs(n.mean().item()) < 4 * s / math.sqrt(n.numel())
    assert n.std().item() == pytest.approx(s, rel=0.05)  # 1536 values: the std estimate is within ~2 %
    z = (n / s).flatten()
    assert abs((z.abs() < 1).double().mean().item() - 0.6827) < 0.05  # Gaussian, not uniform or +-s
    # big-sample check of the same function: 3 x 128 x 128 values
    big = stage.generator_input(torch.full((1, 3, 128, 128), 0.5), 7) - 0.5
    assert big.std().item() == pytest.approx(s, rel=0.02) and abs(big.mean().item()) < 0.02 * s
    # a fresh draw every step, the same draw for the same step (exact resume)
    c = batch["clean"]
    assert torch.equal(stage.generator_input(c, 3), stage.generator_input(c, 3))
    assert not torch.equal(stage.generator_input(c, 3), stage.generator_input(c, 4))


# ------------------------------------------------------------------ finetune stage end to end

@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory) -> Path:
    from pngan.models import build, save_weights

    torch.manual_seed(0)
    g = build("smnet-s", n_feat=8).eval()
    return save_weights(g, tmp_path_factory.mktemp("gen") / "g.safetensors", extra={"input_sigma": 15.0})


def test_finetune_stage_end_to_end(tiny_generator, tmp_path):
    from pngan.cli import main
    from pngan.models import load, load_model

    clean_dir = tmp_path / "clean"
    for i in range(3):
        write_image(clean_dir / f"c{i}.png", _photo(i, 36, 44))
    out = tmp_path / "ft"
    args = ["train", "finetune", f"data.clean_dir={clean_dir}", f"model.generator_weights={tiny_generator}",
            f"run.out_dir={out}", "run.finetune_samples=2", "optim.steps=4", "optim.lr_g=0.001", *TINY,
            "--export-weights", str(tmp_path / "ft.safetensors"), "--no-progress"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output

    # pairs generated: every clean image x finetune_samples, same size, noisy at about input_sigma
    made = sorted(p.name for p in (out / "generated" / "input").iterdir())
    assert made == [f"c{i}_{k}.png" for i in range(3) for k in range(2)]
    for i in range(3):
        clean = read_image(clean_dir / f"c{i}.png")
        a, b = (read_image(out / "generated" / "input" / f"c{i}_{k}.png") for k in range(2))
        assert a.shape == clean.shape
        std = float((a - clean).std()) * 255
        assert 8 < std < 25, std  # a near-identity generator passes its 15/255 AWGN through
        assert not np.array_equal(a, b)  # two samples of one image differ

    # the denoiser was trained (from the shipped DnCNN) and exported
    lines = (out / "losses.csv").read_text().splitlines()
    assert len(lines) == 1 + 4 and lines[0].startswith("step,")
    exported, start = load(tmp_path / "ft.safetensors"), load_model("dncnn")
    assert exported.pngan_name == "dncnn" and exported.pngan_meta.get("stage") == "finetune"
    e, s = exported.state_dict(), start.state_dict()
    assert e.keys() == s.keys() and any(not torch.equal(e[k], s[k]) for k in e)
    assert (out / "checkpoints" / "last.pt").is_file()

    # a second run reuses the generated images instead of making them again
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "generated" / "input").iterdir()}
    r = CliRunner().invoke(main, [*args[:-3], "optim.steps=6", "--no-progress", "--resume"])
    assert r.exit_code == 0 and "resuming at step 4 of 6" in r.output, r.output
    assert stamp == {p.name: p.stat().st_mtime_ns for p in (out / "generated" / "input").iterdir()}


def test_finetune_trains_on_the_generated_pairs(tiny_generator, tmp_path):
    from pngan.train.session import start_session
    from pngan.train.stages import FinetuneStage

    clean_dir = tmp_path / "clean"
    for i in range(2):
        write_image(clean_dir / f"c{i}.png", _photo(i, 32, 32))
    from pngan.io.images import to_uint8

    cfg = load_config(None, [f"data.clean_dir={clean_dir}", f"model.generator_weights={tiny_generator}",
                             f"run.out_dir={tmp_path / 'ft'}", "run.finetune_samples=1", *TINY])
    session = start_session(cfg.run, tmp_path / "ft")
    try:
        stage = FinetuneStage(cfg, session)
    finally:
        session.close()

    gen = [torch.from_numpy(to_uint8(read_image(tmp_path / "ft" / "generated" / "input" / f"c{i}_0.png")))
           .permute(2, 0, 1) for i in range(2)]
    cln = [torch.from_numpy(to_uint8(read_image(clean_dir / f"c{i}.png"))).permute(2, 0, 1) for i in range(2)]
    assert len(stage.bank.noisy) == 2
    assert all(torch.equal(a, b) for a, b in zip(stage.bank.noisy, gen))
    assert all(torch.equal(a, b) for a, b in zip(stage.bank.clean, cln))


def test_finetune_refuses_missing_settings(tmp_path):
    from pngan.cli import main

    r = CliRunner().invoke(main, ["train", "finetune", f"run.out_dir={tmp_path / 'x'}", *TINY, "--no-progress"])
    assert r.exit_code == 1 and "data.clean_dir is not set" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------ PGap

def test_pgap_trains_on_train_folder_and_scores_on_test_folder(train_pairs, tmp_path):
    from pngan.metrics import psnr
    from pngan.models import load
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.io.images import from_tensor_batch, to_tensor_batch
    from pngan.train.pgap import pgap

    test_dir = _pairs(tmp_path / "test", 2, 28, 52, 0.08, 5, offset=10)  # other images, size and noise level
    calls: list[tuple[int, ...]] = []

    def synth(clean: np.ndarray, seed: int) -> np.ndarray:
        calls.append(clean.shape)
        return np.clip(clean + np.random.default_rng(seed).normal(0, 0.04, clean.shape), 0, 1).astype(np.float32)

    cfg = load_config(None, ["optim.steps=3", "model.denoiser_weights=", "model.denoiser_config={features=8, depth=3}",
                             f"run.out_dir={tmp_path / 'pg'}", "run.val_every=0", "data.patch=16", "data.batch=2",
                             "run.threads=1", "run.image_every=0"])
    r = pgap(cfg, train_pairs, test_dir, synth, samples=2, progress=False)

    # the generated set comes from the training folder's clean images only
    assert calls == [(40, 40, 3)] * 6
    made = sorted(p.name for p in (tmp_path / "pg" / "generated_pairs").iterdir())
    assert made == sorted(f"p{i}_{k}.png" for i in range(3) for k in range(2))  # no run files mixed in

    def score(weights: Path, root: Path) -> float:
        run = TorchRunner(load(weights))
        return float(np.mean([psnr(from_tensor_batch(run(to_tensor_batch(read_image(p.noisy)))), read_image(p.clean))
                              for p in find_pairs(root)]))

    # both PSNRs are measured on the test folder, and the gap is their difference
    for name in ("real", "generated"):
        w = tmp_path / "pg" / f"{name}.safetensors"
        assert r[f"psnr_{name}"] == pytest.approx(score(w, test_dir), abs=1e-9)
        assert r[f"psnr_{name}"] != pytest.approx(score(w, train_pairs), abs=1e-3)
    assert r["pgap"] == pytest.approx(r["psnr_real"] - r["psnr_generated"], abs=1e-12)
    # the two denoisers were trained on different data
    a, b = (load(tmp_path / "pg" / f"{n}.safetensors").state_dict() for n in ("real", "generated"))
    assert any(not torch.equal(a[k], b[k]) for k in a)
