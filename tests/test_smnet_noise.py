"""SMNet-N, the generator given its noise as a second input: shapes, zero-mean residual, seeding, training, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pngan.generate.sampler import generate, noise_input
from pngan.models import build, load_model, save_weights
from pngan.models.smnet_noise import takes_noise


def _trained_like(seed: int = 0) -> torch.nn.Module:
    """smnet-n with every weight moved off its start, so the gains depend on the image."""
    torch.manual_seed(seed)
    g = build("smnet-n", n_feat=8)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return g.eval()


@pytest.mark.parametrize("hw", [(64, 64), (13, 19), (1, 1), (7, 33)])
def test_any_size_in_same_size_out(hw):
    g = _trained_like()
    x, z = torch.rand(2, 3, *hw), torch.randn(2, 4, *hw)
    with torch.no_grad():
        y = g(x, z)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_residual_has_zero_mean_over_noise_draws_but_depends_on_the_image():
    g = _trained_like()
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        xs = x.expand(50, -1, -1, -1)
        r = torch.cat([g(xs, torch.randn(50, 4, 24, 24, generator=gen)) - xs for _ in range(8)])  # 400 draws
        mean, std = r.mean(0), r.std(0)
        # a fixed change of the content (SMNet fed clean + AWGN) would be a mean far above std / sqrt(400)
        assert float((mean.abs() / std).mean()) < 3 / 400 ** 0.5
        # the noise level follows the image: another image, another per-pixel std
        x2 = xs.flip(-1)
        s2 = torch.cat([g(x2, torch.randn(50, 4, 24, 24, generator=gen)) - x2 for _ in range(8)]).std(0)
    assert float((s2 - std).abs().mean() / std.mean()) > 0.05


def test_noise_of_the_wrong_shape_is_a_clear_error():
    g = build("smnet-n")
    with pytest.raises(ValueError, match="expected N x 4 x H x W"):
        g(torch.rand(1, 3, 16, 16), torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="expected N x 4 x H x W"):
        g(torch.rand(1, 3, 16, 16), torch.randn(1, 4, 8, 16))


def test_generate_is_seeded_and_draws_the_documented_noise():
    g = _trained_like()
    assert takes_noise(g) and not takes_noise(build("smnet-s"))
    clean = np.random.default_rng(0).random((20, 28, 3)).astype(np.float32)
    a, b, c = generate(g, clean, seed=5), generate(g, clean, seed=5), generate(g, clean, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    x, z = noise_input(clean, 5, 4)
    assert z.shape == (1, 4, 20, 28)
    with torch.no_grad():
        y = g(x, z).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(a, np.round(y * 255) / 255)


@pytest.mark.filterwarnings("ignore:data.val_dir shares")
def test_trains_in_stage_pngan_and_samples_from_the_saved_file(tmp_path, coffee_pairs):
    from pngan.train.config import load_config
    from pngan.train.loop import train

    coffee_pairs(tmp_path / "d", 64)
    cfg = load_config(None, [f"data.train_dir={tmp_path / 'd'}", f"data.val_dir={tmp_path / 'd'}", "data.patch=32",
                             "data.batch=4", "data.crop_align=8", "model.generator=smnet-n",
                             "model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}",
                             "loss.noise_kl=1", "loss.noise_spectrum=1", "loss.noise_quantile=0.3", "optim.steps=3",
                             "run.val_every=3", "run.val_crop=0", "run.log_every=1", "run.image_every=0",
                             "run.ckpt_every=0", f"run.out_dir={tmp_path / 'run'}"])
    train("pngan", cfg, progress=False)
    g = load_model(None, tmp_path / "run" / "best.safetensors")
    assert g.pngan_name == "smnet-n" and takes_noise(g)
    clean = np.full((16, 16, 3), 0.5, np.float32)
    noisy = generate(g, clean, seed=0)
    assert noisy.shape == clean.shape and np.abs(noisy - clean).max() > 0


def test_crop_align_keeps_crops_on_the_grid_and_rejects_a_bad_value(tmp_path, coffee_pairs):
    from pngan.data.pairs import find_pairs
    from pngan.errors import PnganError
    from pngan.train.data import CropBank

    coffee_pairs(tmp_path / "d", 80)
    pairs = find_pairs(tmp_path / "d")
    bank = CropBank(pairs=pairs, patch=16, batch=6, seed=0, align=8)
    full = [torch.from_numpy(np.asarray(bank.clean[i], np.float32) / 255.0) for i in range(len(bank.clean))]
    for step in range(4):
        for crop in bank[step]["clean"]:
            hits = [(i, t, l) for i, f in enumerate(full) for t in range(0, f.shape[1] - 15, 8)
                    for l in range(0, f.shape[2] - 15, 8)
                    if any(torch.equal(crop, torch.rot90(f[:, t:t + 16, l:l + 16], k, (1, 2)).flip(2) if fl else
                                       torch.rot90(f[:, t:t + 16, l:l + 16], k, (1, 2)))
                           for k in range(4) for fl in (False, True))]
            assert hits, "a crop does not start on a multiple of 8"
    with pytest.raises(PnganError, match="crop_align must be >= 1 and divide data.patch"):
        CropBank(pairs=pairs, patch=20, batch=2, align=8)


def test_export_refuses_it_in_one_line(tmp_path):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    from click.testing import CliRunner

    from pngan.cli.export_cmd import main

    w = save_weights(build("smnet-n"), tmp_path / "g.safetensors", extra={"stage": "pngan"})
    r = CliRunner().invoke(main, ["--model", "smnet-n", "--weights", str(w), "--target", "onnx", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "second input" in errors[0] and "Traceback" not in r.output
    assert not (tmp_path / "o" / "onnx-fp32").exists()


def test_strength_scales_the_noise_and_is_refused_where_it_has_no_meaning(tmp_path):
    from pngan.errors import PnganError

    g = load_model(None, "smnet-n_polyu")  # a few /255 of noise: nothing reaches the clamp at mid-grey
    clean = np.full((24, 24, 3), 0.5, np.float32)
    one = generate(g, clean, seed=3, quantize=False) - clean
    assert 0 < np.abs(one).max() < 0.2
    two = generate(g, clean, seed=3, quantize=False, strength=2.0) - clean
    assert np.allclose(two, 2 * one, atol=1e-6)
    with pytest.raises(PnganError, match="positive number"):
        generate(g, clean, seed=3, strength=0.0)
    with pytest.raises(PnganError, match="needs a generator given its noise"):
        generate(build("smnet-s"), clean, seed=3, strength=2.0)


@pytest.mark.parametrize("args,message", [
    (["--weights", "smnet-s_polyu", "--strength", "2"], "needs a generator given its noise"),
    (["--weights", "smnet-n_polyu", "--strength", "-1"], "--strength must be a positive number"),
])
def test_generate_cli_strength_errors_are_one_line(tmp_path, args, message):
    from click.testing import CliRunner

    from pngan.cli import main
    from pngan.io.images import write_image

    write_image(tmp_path / "in" / "a.png", np.full((16, 16, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, ["generate", *args, "--input-dir", str(tmp_path / "in"), "--out",
                                  str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in r.output
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


def test_shipped_smnet_n_adds_pure_noise_with_a_block_grid():
    """The shipped file against an untrained smnet-n, on statistics outside its losses: the seed-dependent share
    of the residual power (1 for pure noise; smnet-s_polyu's is about 0.26) and the 8x8 blockiness."""
    from pngan.metrics.noise_texture import blockiness, residual
    from pngan.assets.samples import sample_image

    clean = sample_image("coffee")
    for weights, block_range in (("smnet-n_polyu", (1.5, 3.0)), (None, (0.9, 1.2))):
        torch.manual_seed(0)
        g = load_model(None, weights) if weights else build("smnet-n")
        a, b = generate(g, clean, seed=0), generate(g, clean, seed=1)
        share = float(((a - b) ** 2).mean() / 2 / ((a - clean) ** 2).mean())
        assert 0.9 < share < 1.1, (weights, share)
        assert block_range[0] < blockiness(residual(clean, a)) < block_range[1], weights


def test_shipped_chroma_fine_tune_has_colour_in_its_noise():
    """smnet-n_polyu-chroma (loss.noise_chroma) lowers the R-G correlation of the residual that smnet-n_polyu keeps
    near 1 (grey noise; real PolyU noise: 0.66 on val), and keeps pure noise with a block grid."""
    from pngan.metrics.noise_texture import blockiness, residual
    from pngan.assets.samples import sample_image

    clean = sample_image("coffee")
    for weights, rg_range in (("smnet-n_polyu-chroma", (0.55, 0.85)), ("smnet-n_polyu", (0.9, 1.0))):
        g = load_model(None, weights)
        a, b = generate(g, clean, seed=0), generate(g, clean, seed=1)
        e = a.astype(np.float64) - clean
        rg = float(np.corrcoef(e[..., 0].ravel(), e[..., 1].ravel())[0, 1])
        assert rg_range[0] < rg < rg_range[1], (weights, rg)
        assert 0.9 < float(((a - b) ** 2).mean() / 2 / ((a - clean) ** 2).mean()) < 1.1
        assert 1.5 < blockiness(residual(clean, a)) < 3.0


def test_train_with_a_bad_crop_align_is_one_line_and_writes_nothing(tmp_path, coffee_pairs):
    from click.testing import CliRunner

    from pngan.cli import main

    coffee_pairs(tmp_path / "d", 64)
    r = CliRunner().invoke(main, ["train", "pngan", f"data.train_dir={tmp_path / 'd'}", "data.crop_align=7",
                                  "data.patch=32", "optim.steps=1", f"run.out_dir={tmp_path / 'run'}"])
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "crop_align must be >= 1 and divide data.patch (32)" in errors[0]
    assert "Traceback" not in r.output and not (tmp_path / "run").exists()
