"""``pngan denoise``: paired and unpaired folders, official checkpoints, bad files, tiling."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.models import build


@pytest.fixture
def paired(tmp_path, coffee_pairs):
    return coffee_pairs(tmp_path / "set", rows=96)


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
    from pngan.io.images import read_image

    a, b = read_image(tmp_path / "a" / "im0.png"), read_image(tmp_path / "b" / "im0.png")  # "_real" dropped
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


# --- metrics (issue 15), one image file, artifacts (issue 14) --------------------------------------

def test_csv_has_noisy_columns_metrics_kind_and_unix_line_endings(paired, tmp_path):
    from pngan.io.images import read_image
    from pngan.metrics import psnr, psnr_paper, ssim, ssim_paper

    for kind, (pf, sf) in (("paper", (psnr_paper, ssim_paper)), ("skimage", (psnr, ssim))):
        out = tmp_path / kind
        r = _run("--method", "dncnn", "--input-dir", str(paired), "--result-dir", str(out), "--metrics", kind)
        assert r.exit_code == 0, r.output
        raw = (out / "metrics.csv").read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        rows = list(csv.DictReader(open(out / "metrics.csv")))
        assert list(rows[0]) == ["id", "psnr", "ssim", "noisy_psnr", "noisy_ssim", "metrics"]
        assert {r_["metrics"] for r_ in rows} == {kind}
        noisy = read_image(paired / "input" / "im0_real.png")
        clean = read_image(paired / "groundtruth" / "im0_mean.png")
        assert float(rows[0]["noisy_psnr"]) == pytest.approx(pf(noisy, clean), abs=1e-4)
        assert float(rows[0]["noisy_ssim"]) == pytest.approx(sf(noisy, clean), abs=1e-6)
        mean, noisy_mean = (np.mean([float(r_[k]) for r_ in rows]) for k in ("psnr", "noisy_psnr"))
        assert f"mean PSNR {mean:.2f} dB" in r.output and f"[{kind} metrics]" in r.output
        assert f"noisy input: mean PSNR {noisy_mean:.2f} dB" in r.output
        assert f"gain {mean - noisy_mean:+.2f} dB" in r.output
        assert mean > noisy_mean + 1  # the shipped denoiser does denoise
    paper = list(csv.DictReader(open(tmp_path / "paper" / "metrics.csv")))
    skimg = list(csv.DictReader(open(tmp_path / "skimage" / "metrics.csv")))
    assert paper[0]["ssim"] != skimg[0]["ssim"]  # two definitions, both recorded as such


def test_pair_smaller_than_the_ssim_window_gets_psnr_and_no_ssim(paired, tmp_path):
    c = np.random.default_rng(3).random((3, 5, 3)).astype(np.float32)
    write_image(paired / "groundtruth" / "tiny_mean.png", c)
    write_image(paired / "input" / "tiny_real.png", np.clip(c + 0.05, 0, 1))
    out = tmp_path / "out"
    r = _run("--method", "dncnn", "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 0, r.output
    assert "tiny: 5x3 is smaller than the SSIM window; SSIM n/a" in r.output and "Traceback" not in r.output
    rows = {r_["id"]: r_ for r_ in csv.DictReader(open(out / "metrics.csv"))}
    assert rows["tiny"]["ssim"] == "" and rows["tiny"]["noisy_ssim"] == "" and float(rows["tiny"]["psnr"]) > 10
    assert len(list(out.glob("*.png"))) == 3 and list(out.glob("tiny_*dB_nan.png"))
    assert "(SSIM over 2 of 3)" in r.output
    r = _run("--method", "dncnn", "--input_dir", str(paired), "--result_dir", str(out), "--skip-existing")
    assert r.exit_code == 0 and "3 images" in r.output, r.output  # the nan name is found again


def test_one_image_file_as_input(paired, tmp_path):
    f = paired / "input" / "im1_real.png"
    r = _run("--method", "dncnn", "--input_dir", str(f), "--result_dir", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["im1.png"]  # the noisy role token dropped
    (tmp_path / "notes.txt").write_text("hi")
    r = _run("--method", "dncnn", "--input_dir", str(tmp_path / "notes.txt"), "--result_dir", str(tmp_path / "p"))
    assert r.exit_code == 1 and "notes.txt: neither a folder nor an image file" in r.output
    r = _run("--method", "dncnn", "--input_dir", str(tmp_path / "nope.png"), "--result_dir", str(tmp_path / "p"))
    assert r.exit_code == 1 and "nope.png: no such folder or image file" in r.output


def test_method_or_artifact_and_generators_refused(paired, tmp_path):
    out = tmp_path / "o"
    r = _run("--method", "dncnn", "--artifact", str(tmp_path), "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 1 and "give --model NAME (PyTorch) or --artifact FOLDER (an exported model), not both" \
        in r.output  # neither: the shipped default runs (tests/test_denoise_default.py)
    (tmp_path / "art").mkdir()
    r = _run("--artifact", str(tmp_path / "art"), "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "not an artifact folder (no manifest.json)" in r.output
    r = _run("--method", "smnet-s", "--input_dir", str(paired), "--result_dir", str(out))
    assert r.exit_code == 1 and "noise generator, not a denoiser" in r.output
    assert not out.exists()


def _tiny_export(folder, seed: int, kick: bool = False):
    """A tiny seeded DnCNN, its weights and its ONNX export (no export-time validation: speed)."""
    from pngan.export import export
    from pngan.models import save_weights

    torch.manual_seed(seed)
    net = build("dncnn", features=8, depth=3).eval()
    if kick:
        last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        torch.nn.init.kaiming_normal_(last.weight)  # away from the near-identity of a random init
    w = save_weights(net, folder / "w.safetensors")
    return w, export(net, "onnx", folder / "arts", weights=w, validate=False)


def test_artifact_gives_the_same_names_metrics_and_csv_as_torch(paired, tmp_path):
    pytest.importorskip("onnxruntime")
    from pngan.io.images import read_image

    weights, art = _tiny_export(tmp_path / "x", 0)
    a, b = tmp_path / "torch", tmp_path / "onnx"
    r = _run("--method", "dncnn", "--weights", str(weights), "--input_dir", str(paired), "--result_dir", str(a))
    assert r.exit_code == 0, r.output
    r = _run("--artifact", str(art), "--input_dir", str(paired), "--result_dir", str(b))
    assert r.exit_code == 0, r.output
    assert "dncnn (onnxruntime fp32): 2 images" in r.output
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    ra, rb = (list(csv.DictReader(open(d / "metrics.csv"))) for d in (a, b))
    for x, y in zip(ra, rb):
        assert x["id"] == y["id"] and abs(float(x["psnr"]) - float(y["psnr"])) < 1e-3

    def pixels(d):
        return [read_image(p) for p in sorted(d.glob("*.png"))]

    assert all(np.abs(x - y).max() <= 1 / 255 + 1e-6 for x, y in zip(pixels(a), pixels(b)))
    _, art2 = _tiny_export(tmp_path / "y", 1, kick=True)  # other weights: must not reproduce torch's results
    r = _run("--artifact", str(art2), "--input_dir", str(paired), "--result_dir", str(tmp_path / "c"))
    assert r.exit_code == 0, r.output
    assert all(np.abs(x - y).mean() > 3 / 255 for x, y in zip(pixels(a), pixels(tmp_path / "c")))
