"""``pngan noise`` (Gaussian X30/X50/X70 folders and the other models) and ``pngan generate``."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import read_image, write_image
from pngan.models import build, save_weights


def _clean(tmp_path):
    d = tmp_path / "clean"
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.jpg"):
        write_image(d / name, np.full((24, 20, 3), 0.5, np.float32) + 0.1 * rng.random((24, 20, 3)).astype(np.float32))
    return d


def test_gaussian_folders_like_the_official_script(tmp_path):
    clean = _clean(tmp_path)
    r = CliRunner().invoke(main, ["noise", "--sigma", "30", "50", "70", "--input_dir", str(clean),
                                  "--result_dir", str(tmp_path / "out"), "--seed", "0"])
    assert r.exit_code == 0, r.output
    for s in (30, 50, 70):
        files = sorted(p.name for p in (tmp_path / "out" / f"Gaussian_noise_X{s}").iterdir())
        assert files == ["a.png", "b.png"]
    x = read_image(clean / "a.png")
    for s in (30, 70):
        y = read_image(tmp_path / "out" / f"Gaussian_noise_X{s}" / "a.png")
        assert abs(np.std(y - x) * 255 - s) < 0.15 * s  # clipping shrinks it a little
    again = tmp_path / "again"
    CliRunner().invoke(main, ["noise", "--sigma", "30", "--input_dir", str(clean), "--result_dir", str(again)])
    assert np.array_equal(read_image(again / "Gaussian_noise_X30" / "a.png"),
                          read_image(tmp_path / "out" / "Gaussian_noise_X30" / "a.png"))


def test_other_models_and_errors(tmp_path):
    clean = _clean(tmp_path)
    for model, folder in (("poisson-gaussian", "PoissonGaussian_noise"), ("camera", "Camera_noise")):
        r = CliRunner().invoke(main, ["noise", "--model", model, "--input_dir", str(clean),
                                      "--result_dir", str(tmp_path / "o")])
        assert r.exit_code == 0, r.output
        assert (tmp_path / "o" / folder / "a.png").is_file()
    r = CliRunner().invoke(main, ["noise", "--input_dir", str(clean), "--result_dir", str(tmp_path / "o")])
    assert r.exit_code == 1 and "needs --sigma" in r.output
    (clean / "c.png").write_bytes(b"broken")
    r = CliRunner().invoke(main, ["noise", "--sigma", "5", "--input_dir", str(clean), "--result_dir", str(tmp_path / "p")])
    assert r.exit_code == 1 and "c.png: cannot decode" in r.output
    assert (tmp_path / "p" / "Gaussian_noise_X5" / "a.png").is_file()


def test_generate_is_seeded(tmp_path):
    clean = _clean(tmp_path)
    w = save_weights(build("smnet-s", n_feat=8), tmp_path / "g.safetensors", extra={"input_sigma": 5.0})
    outs = []
    for run in ("x", "y"):
        r = CliRunner().invoke(main, ["generate", "--weights", str(w), "--input_dir", str(clean),
                                      "--result_dir", str(tmp_path / run), "--samples", "2", "--seed", "3"])
        assert r.exit_code == 0, r.output
        outs.append(read_image(tmp_path / run / "a_1.png"))
    assert np.array_equal(*outs)
    assert not np.array_equal(read_image(tmp_path / "x" / "a_0.png"), outs[0])
