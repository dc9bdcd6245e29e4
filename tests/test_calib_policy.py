"""Which calibration data an INT8 export uses, and bad calibration folders (one line, nothing written)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from pngan.calibration.policy import choose_calibration, parse_noise
from pngan.errors import ImageError, PnganError


def _photos(folder, n=4, size=(48, 56), seed=0, flat=False):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        px = np.full((*size, 3), 120, np.uint8) if flat else rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(px).save(folder / f"im{i}.png")
    return folder


def test_noisy_photos_are_used_as_they_are(tmp_path):
    src = choose_calibration(_photos(tmp_path / "photos"), generator=False, samples=3, crop=(32, 32))
    assert src.noise == "none" and not src.has_targets
    for x, target in src.pairs:
        np.testing.assert_array_equal(x, target)
    assert "used as they are" in src.describe()


def test_clean_sets_and_shipped_samples_get_synthetic_noise(tmp_path):
    for src in (choose_calibration(_photos(tmp_path / "groundtruth"), generator=False, samples=2, crop=(32, 32)),
                choose_calibration(None, generator=False, samples=2, crop=(32, 32))):
        assert src.noise == "poisson-gaussian" and src.has_targets
        x, clean = src.pairs[0]
        assert 0 < np.abs(x - clean).mean() < 0.2
    asked = choose_calibration(_photos(tmp_path / "p"), generator=False, noise="poisson-gaussian", samples=2,
                               crop=(32, 32))
    assert asked.noise == "poisson-gaussian" and "Poisson-Gaussian noise added" in asked.describe()


def test_paired_root_gives_noisy_inputs_and_clean_targets(tmp_path):
    root = tmp_path / "set"
    _photos(root / "input", seed=1)
    _photos(root / "groundtruth", seed=2)
    for given in (root, root / "input"):
        src = choose_calibration(given, generator=False, samples=3, crop=(32, 32))
        assert src.paired and src.noise == "none" and src.has_targets
        x, t = src.pairs[0]
        assert not np.array_equal(x, t)
        noisy = np.asarray(Image.open(root / "input" / "im0.png"), np.float32) / 255
        assert any(np.isin(x[0, 0].ravel()[:5], noisy[..., 0].ravel()).all() for x, _ in src.pairs)


def test_generator_gets_clean_plus_awgn_at_input_sigma(tmp_path):
    root = tmp_path / "set"
    _photos(root / "input", seed=1)
    _photos(root / "groundtruth", seed=2)
    src = choose_calibration(root, generator=True, input_sigma=7.0, samples=4, crop=(32, 32))
    assert src.noise == "awgn" and src.sigma == 7.0 and src.folder == root / "groundtruth"
    x, clean = src.pairs[0]
    resid = (x - clean)[(clean > 0.1) & (clean < 0.9)]
    assert abs(resid.std() * 255 - 7.0) < 1.0 and x.min() >= 0 and x.max() <= 1
    with pytest.raises(PnganError, match="generator is calibrated on clean"):
        choose_calibration(root, generator=True, noise="poisson-gaussian")


def test_parse_noise():
    assert parse_noise("AWGN:15") == ("awgn", 15.0) and parse_noise("poisson_gaussian") == ("poisson-gaussian", None)
    for bad, msg in (("gauss", "unknown --calib-noise"), ("awgn:x", "needs a number"), ("awgn:0", "SIGMA > 0")):
        with pytest.raises(PnganError, match=msg):
            parse_noise(bad)


@pytest.mark.parametrize("case, message", [
    ("few", r"holds 2 image\(s\); INT8 calibration needs at least 4 different photos"),
    ("small", r"im0.png is 20x16, smaller than the 32x32 calibration crop"),
    ("flat", r"im0.png is one flat colour"),
])
def test_bad_calibration_folders(tmp_path, case, message):
    folder = {"few": lambda: _photos(tmp_path / "c", n=2),
              "small": lambda: _photos(tmp_path / "c", size=(16, 20)),
              "flat": lambda: _photos(tmp_path / "c", flat=True)}[case]()
    with pytest.raises(ImageError, match=message):
        choose_calibration(folder, generator=False, samples=8, crop=(32, 32)).pairs


@pytest.mark.parametrize("case", ["few", "small", "flat"])
def test_cli_bad_calibration_folder_one_line_nothing_written(tmp_path, case):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    from pngan.cli.export_cmd import main
    from pngan.models import build, save_weights

    torch.manual_seed(0)
    w = save_weights(build("dncnn", features=8, depth=3), tmp_path / "w.safetensors")
    folder = {"few": lambda: _photos(tmp_path / "c", n=2), "small": lambda: _photos(tmp_path / "c", size=(16, 20)),
              "flat": lambda: _photos(tmp_path / "c", flat=True)}[case]()
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["--model", "dncnn", "--weights", str(w), "--precision", "int8", "--target", "all",
                                  "--calib-dir", str(folder), "--opt-shape", "32", "32", "--min-shape", "8", "8",
                                  "--out", str(out)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (r.exit_code, r.exception, r.output)
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.output, r.output
    assert not out.exists() or not any(out.iterdir())
