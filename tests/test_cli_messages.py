"""Messages that name what the user gave and the option that exists in that command (issue 21, item 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image


@pytest.fixture
def photo(tmp_path):
    f = tmp_path / "photos" / "photo.jpg"
    write_image(f, np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    return f


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_error(r) -> str:
    lines = [ln for ln in r.output.strip().splitlines() if not ln.startswith("warning: ")]
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def test_denoise_discriminator_is_not_called_a_generator(photo, tmp_path):
    line = _one_error(_run("denoise", "--method", "discriminator", "--input-dir", photo, "--result-dir",
                           tmp_path / "o"))
    assert "'discriminator' is a discriminator" in line and "not a denoiser" in line
    assert "generator" not in line and "pngan models" in line
    line = _one_error(_run("denoise", "--method", "smnet-s", "--input-dir", photo, "--result-dir", tmp_path / "o"))
    assert "'smnet-s' is a noise generator, not a denoiser; use `pngan generate`" in line


def test_weights_without_a_name_say_what_the_command_takes(photo, tmp_path):
    from pngan.errors import CheckpointError
    from pngan.models import build, load_model

    pth = tmp_path / "gen.pth"
    torch.save(build("smnet-s", n_feat=8).state_dict(), pth)
    line = _one_error(_run("generate", "--weights", pth, "--input-dir", photo, "--result-dir", tmp_path / "o"))
    assert "--model" not in line and "--method" not in line, line  # generate has neither option
    assert "this command takes no model name; give a .safetensors file" in line
    line = _one_error(_run("generate", "--weights", photo, "--input-dir", photo, "--result-dir", tmp_path / "o"))
    assert "photo.jpg: not a weights file (a JPEG image)" in line and "--model" not in line, line
    with pytest.raises(CheckpointError, match=r"give the model name too \(--model NAME\)$"):
        load_model(None, pth, name_option="--model")  # a command with the option names it
    with pytest.raises(CheckpointError) as e:
        load_model(None, "smnet-s")  # eval-noise --weights smnet-s: a model name, not a file
    assert "smnet-s: a model name, not a weights file; its shipped weights are 'smnet-s_polyu'" == str(e.value)
    assert "--method" not in str(e.value)


def test_generate_takes_one_image_file(photo, tmp_path):
    r = _run("generate", "--input-dir", photo, "--result-dir", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["photo.png"]
    r = _run("noise", "--sigma", "10", "--input-dir", photo, "--result-dir", tmp_path / "n")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "n" / "Gaussian_noise_X10" / "photo.png").is_file()
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    line = _one_error(_run("generate", "--input-dir", notes, "--result-dir", tmp_path / "p"))
    assert "notes.txt: neither a folder nor an image file" in line


@pytest.mark.parametrize("best", [True, False])
def test_a_training_checkpoint_given_as_weights_points_at_best_safetensors(photo, tmp_path, best):
    run = tmp_path / "runs" / "x"
    ckpt = run / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"step": 3, "arch": {}, "rng": {}, "state": {"g": build_state()}}, ckpt)
    if best:
        from pngan.models import build, save_weights

        save_weights(build("dncnn", features=8, depth=3), run / "best.safetensors")
    for cmd in (["denoise"], ["generate"]):
        line = _one_error(_run(*cmd, "--weights", ckpt, "--input-dir", photo, "--result-dir", tmp_path / "o"))
        assert "a training checkpoint" in line and "not inference weights" in line, line
        assert (f"use {run / 'best.safetensors'}" in line) == best, line
        assert "--export-weights" in line


def build_state() -> dict:
    from pngan.models import build

    return build("dncnn", features=8, depth=3).state_dict()
