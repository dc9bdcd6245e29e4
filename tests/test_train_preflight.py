"""Training inputs are checked before anything is written: one line each, no output folder left behind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.models import build, save_weights

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
        "data.batch=2", "run.val_every=1", "run.val_samples=1", "run.log_every=1", "run.image_every=0",
        "optim.steps=1", "run.threads=1"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    torch.manual_seed(0)
    return {"gen": save_weights(build("smnet-s", n_feat=8), d / "gen.safetensors", extra={"input_sigma": 3.0}),
            "dncnn": save_weights(build("dncnn"), d / "dncnn.safetensors"),
            "ridnet": save_weights(build("ridnet", n_feats=8), d / "ridnet.safetensors")}


def _train(*args):
    return CliRunner().invoke(main, ["train", *args])


def _one_error(r, out, *words):
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), r.output
    for w in words:
        assert w in lines[0], lines[0]
    assert not out.exists(), "nothing may be written for an input error"


def test_folder_without_pairs(tmp_path):
    (tmp_path / "empty" / "input").mkdir(parents=True)
    (tmp_path / "empty" / "groundtruth").mkdir()
    out = tmp_path / "run"
    r = _train("pngan", f"data.train_dir={tmp_path / 'empty'}", f"run.out_dir={out}", *TINY)
    _one_error(r, out, "empty/input", "folder has no images")


def test_generator_used_as_denoiser_and_the_reverse(tmp_path, weights, random_pairs):
    pairs, out = random_pairs(tmp_path / "p"), tmp_path / "run"
    r = _train("pngan", f"data.train_dir={pairs}", f"run.out_dir={out}", f"model.denoiser_weights={weights['gen']}",
               *TINY)
    _one_error(r, out, "holds a smnet-s generator, not a denoiser")
    write_image(tmp_path / "clean" / "c.png", np.full((24, 24, 3), 0.5, np.float32))
    r = _train("finetune", f"data.clean_dir={tmp_path / 'clean'}", f"model.generator_weights={weights['dncnn']}",
               f"run.out_dir={out}", *TINY)
    _one_error(r, out, "holds a dncnn denoiser, not a generator")


def test_alignment_denoiser_of_another_architecture(tmp_path, weights, random_pairs):
    pairs, out = random_pairs(tmp_path / "p"), tmp_path / "run"
    r = _train("pngan", f"data.train_dir={pairs}", f"run.out_dir={out}", "model.denoiser=dncnn",
               f"model.denoiser_weights={weights['ridnet']}", *TINY)
    _one_error(r, out, "holds ridnet weights", "dncnn")
    r = _train("pngan", f"data.train_dir={pairs}", f"run.out_dir={out}", "model.denoiser=smnet-s", *TINY)
    _one_error(r, out, "model.denoiser=smnet-s is a generator")


def test_val_folder_overlapping_train_warns_and_trains(tmp_path, weights, random_pairs):
    pairs, out = random_pairs(tmp_path / "p"), tmp_path / "run"
    r = _train("denoiser", f"data.train_dir={pairs}", f"data.val_dir={pairs}", f"run.out_dir={out}",
               "model.denoiser_weights=", *TINY)
    assert r.exit_code == 0, r.output
    warn = [ln for ln in r.output.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1 and "shares 2 file name(s)" in warn[0] and "not be held out" in warn[0]
    assert (out / "best.safetensors").is_file()
    held_out = random_pairs(tmp_path / "v", names=("c",))
    r = _train("denoiser", f"data.train_dir={pairs}", f"data.val_dir={held_out}", f"run.out_dir={tmp_path / 'r2'}",
               "model.denoiser_weights=", *TINY)
    assert r.exit_code == 0 and "warning:" not in r.output, r.output
