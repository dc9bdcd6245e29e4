"""``pngan denoise`` without ``--method`` runs the shipped default denoiser (or the model a weights file names)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import read_image, write_image
from pngan.models import build, save_weights
from pngan.models.shipped import default_denoiser, shipped_weights
from pngan.weights import DEFAULT_DENOISER
from pngan.assets.samples import sample_image


def _folder(tmp_path):
    img = sample_image("coffee")[:48, :40]
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 0.03, img.shape), 0, 1).astype(np.float32)
    write_image(tmp_path / "in" / "a.png", noisy)
    return tmp_path / "in"


def test_default_is_the_shipped_default_and_matches_method(tmp_path):
    src = _folder(tmp_path)
    assert shipped_weights(DEFAULT_DENOISER) is not None  # the default ships weights
    r = CliRunner().invoke(main, ["denoise", "--input-dir", str(src), "--result-dir", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    r2 = CliRunner().invoke(main, ["denoise", "--method", DEFAULT_DENOISER, "--input-dir", str(src),
                                   "--result-dir", str(tmp_path / "m")])
    assert r2.exit_code == 0, r2.output
    assert np.array_equal(read_image(tmp_path / "d" / "a.png"), read_image(tmp_path / "m" / "a.png"))


def test_weights_file_names_its_model(tmp_path):
    net = build("dncnn", depth=3, features=8)
    w = tmp_path / "tiny.safetensors"
    save_weights(net, w)
    assert default_denoiser(w) == "dncnn"
    assert default_denoiser(None) == DEFAULT_DENOISER
    r = CliRunner().invoke(main, ["denoise", "--weights", str(w), "--input-dir", str(_folder(tmp_path)),
                                  "--result-dir", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output


def test_models_marks_the_default():
    r = CliRunner().invoke(main, ["models"])
    line = next(ln for ln in r.output.splitlines() if ln.startswith(DEFAULT_DENOISER + " "))
    assert "[default denoiser]" in line
