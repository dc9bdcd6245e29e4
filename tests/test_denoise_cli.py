"""``pngan denoise``: paired and unpaired folders, official checkpoints, bad files, tiling."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.images import write_image
from pngan.models import build
from pngan.noise import add_poisson_gaussian
from pngan.samples import sample_image


@pytest.fixture
def paired(tmp_path):
    root = tmp_path / "set"
    clean = sample_image("coffee")[:96, :80]
    for i in range(2):
        c = clean[:, i * 8:i * 8 + 64]
        write_image(root / "groundtruth" / f"im{i}_mean.png", c)
        write_image(root / "input" / f"im{i}_real.png", add_poisson_gaussian(c, np.random.default_rng(i), 4e-3, 2e-4))
    return root


def _run(*args):
    return CliRunner().invoke(main, ["denoise", *args])


def test_paired_names_csv_and_mean(paired, tmp_path):
    out = tmp_path / "out"
    r = _run("--method", "dncnn", "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.glob("*.png"))
    assert len(names) == 2 and all(re.fullmatch(r"im\d_\d+\.\d{2}dB_\d\.\d{4}\.png", n) for n in names), names
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r_["id"] for r_ in rows] == ["im0", "im1"]
    mean = np.mean([float(r_["psnr"]) for r_ in rows])
    assert f"mean PSNR {mean:.2f} dB" in r.output


def test_unpaired_folder_and_tiling_agree(paired, tmp_path):
    r = _run("--method", "dncnn", "--input_dir", str(paired / "input"), "--result_dir", str(tmp_path / "a"))
    assert r.exit_code == 0, r.output
    r = _run("--method", "dncnn", "--input_dir", str(paired / "input"), "--result_dir", str(tmp_path / "b"),
             "--tile", "40", "--overlap", "12")
    assert r.exit_code == 0, r.output
    from pngan.images import read_image

    a, b = read_image(tmp_path / "a" / "im0_real.png"), read_image(tmp_path / "b" / "im0_real.png")
    assert np.abs(a - b).max() <= 1 / 255 + 1e-6  # DnCNN's receptive field fits in the overlap


def test_official_checkpoint_works_unchanged(paired, tmp_path):
    net = build("ridnet")
    ckpt = tmp_path / "RIDNet_nam.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in net.state_dict().items()}, "epoch": 1}, ckpt)
    r = _run("--method", "ridnet", "--input_dir", str(paired), "--result_dir", str(tmp_path / "o"),
             "--weights", str(ckpt))
    assert r.exit_code == 0, r.output


def test_bad_file_is_reported_and_others_kept(paired, tmp_path):
    (paired / "input" / "im2_real.png").write_bytes(b"garbage")
    write_image(paired / "groundtruth" / "im2_mean.png", np.zeros((64, 64, 3), np.float32))
    out = tmp_path / "out"
    r = _run("--method", "dncnn", "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 1
    assert "im2_real.png: cannot decode" in r.output and "the others were written" in r.output
    assert len(list(out.glob("im*_*dB_*.png"))) == 2 and (out / "metrics.csv").is_file()


def test_size_mismatch_and_unknown_method_and_empty(paired, tmp_path):
    write_image(paired / "groundtruth" / "im1_mean.png", np.zeros((10, 10, 3), np.float32))
    r = _run("--method", "dncnn", "--input_dir", str(paired), "--result_dir", str(tmp_path / "o"))
    assert r.exit_code == 1 and "differ in size" in r.output
    r = _run("--method", "bm3d", "--input_dir", str(paired), "--result_dir", str(tmp_path / "o"))
    assert r.exit_code == 1 and "unknown model 'bm3d'" in r.output
    (tmp_path / "empty").mkdir()
    r = _run("--method", "dncnn", "--input_dir", str(tmp_path / "empty"), "--result_dir", str(tmp_path / "o"))
    assert r.exit_code == 1 and "has no images" in r.output
