"""``pngan generate --artifact``: an exported generator gives torch's seeded samples (issue 21, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import read_image, write_image

pytestmark = pytest.mark.slow

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small seeded smnet-s (last conv kicked away from identity), its weights and its ONNX FP32 export."""
    import warnings

    from pngan.export import export
    from pngan.models import build, load_model, save_weights

    d = tmp_path_factory.mktemp("gen")
    torch.manual_seed(0)
    net = build("smnet-s", n_feat=8).eval()
    last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    torch.nn.init.normal_(last.weight, std=0.05)
    w = save_weights(net, d / "g.safetensors", extra={"input_sigma": 12.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        art = export(load_model(None, w), "onnx", d / "arts", weights=w, validate=False)  # as pngan-export does
    return w, art


@pytest.fixture
def clean(tmp_path):
    d = tmp_path / "clean"
    rng = np.random.default_rng(0)
    img = rng.random((40, 36, 3)).astype(np.float32)
    img[:8] = 0.0  # black and white rows: clean + AWGN leaves [0, 1] there, as in training
    img[-8:] = 1.0
    write_image(d / "a.png", img)
    write_image(d / "b.png", rng.random((24, 28, 3)).astype(np.float32))
    return d


def _run(*args):
    return CliRunner().invoke(main, ["generate", *map(str, args)])


def test_artifact_samples_match_torch(exported, clean, tmp_path, one_thread):
    w, art = exported
    r = _run("--weights", w, "--input-dir", clean, "--out", tmp_path / "torch", "--seed", "3", "--samples", "2")
    assert r.exit_code == 0, r.output
    r = _run("--artifact", art, "--input-dir", clean, "--out", tmp_path / "onnx", "--seed", "3", "--samples", "2")
    assert r.exit_code == 0, r.output
    assert "wrote 4 images" in r.output
    names = sorted(p.name for p in (tmp_path / "torch").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "onnx").iterdir()) == ["a_0.png", "a_1.png", "b_0.png",
                                                                            "b_1.png"]
    for n in names:
        a, b = read_image(tmp_path / "torch" / n), read_image(tmp_path / "onnx" / n)
        assert np.abs(a - b).max() <= 1 / 255 + 1e-6, n  # FP32: at most one 8-bit level, from rounding
        assert np.mean(a != b) < 0.01, n
    x = read_image(clean / "a.png")
    assert np.abs(read_image(tmp_path / "onnx" / "a_0.png") - x).mean() > 2 / 255  # it does add noise
    assert not np.array_equal(read_image(tmp_path / "onnx" / "a_0.png"), read_image(tmp_path / "onnx" / "a_1.png"))


def test_one_image_and_other_seeds(exported, clean, tmp_path, one_thread):
    _, art = exported
    r = _run("--artifact", art, "--input-dir", clean / "b.png", "--out", tmp_path / "o1", "--seed", "1")
    assert r.exit_code == 0, r.output
    r = _run("--artifact", art, "--input-dir", clean / "b.png", "--out", tmp_path / "o2", "--seed", "2")
    assert r.exit_code == 0, r.output
    assert [p.name for p in (tmp_path / "o1").iterdir()] == ["b.png"]
    assert not np.array_equal(read_image(tmp_path / "o1" / "b.png"), read_image(tmp_path / "o2" / "b.png"))


def test_wrong_kind_of_artifact_points_at_the_other_command(exported, clean, tmp_path, export_tiny_dncnn):
    _, art = exported
    r = CliRunner().invoke(main, ["denoise", "--artifact", str(art), "--input-dir", str(clean),
                                  "--out", str(tmp_path / "d")])
    assert r.exit_code == 1 and "a noise generator, not a denoiser; use `pngan generate --artifact`" in r.output
    _, _, arts = export_tiny_dncnn(tmp_path / "dn")
    r = _run("--artifact", arts["onnx"], "--input-dir", clean, "--out", tmp_path / "g")
    assert r.exit_code == 1 and "not a noise generator; use `pngan denoise --artifact`" in r.output, r.output
    assert r.output.count("\n") == 1 and not (tmp_path / "g").exists()
    r = _run("--artifact", art, "--weights", "smnet-s_polyu", "--input-dir", clean, "--out", tmp_path / "g")
    assert r.exit_code == 1 and "not both" in r.output
