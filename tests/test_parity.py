"""``pngan parity``: per-artifact report, thresholds and exit code, broken artifacts, JSON/Markdown/PNG."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.runtimes.artifacts import find_artifacts
from pngan.runtimes.parity_data import synthetic_pairs

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

FAST = ["--sizes", "32,48", "--latency-sizes", "32", "--repeats", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def root(tmp_path_factory, export_tiny_dncnn):
    base = tmp_path_factory.mktemp("parity")
    export_tiny_dncnn(base)
    return base


def _cli(*args):
    return CliRunner().invoke(main, ["parity", *args])


def test_parity_passes_and_writes_reports(root, tmp_path):
    r = _cli("--artifacts", str(root / "arts"), "--json", str(tmp_path / "p.json"),
             "--markdown", str(tmp_path / "p.md"), "--plot", str(tmp_path / "p.png"), *FAST)
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "p.json").read_text())
    (e,) = rep["artifacts"]
    assert e["status"] == "pass" and e["backend"] == "onnxruntime" and e["precision"] == "fp32"
    assert e["output_psnr_min_db"] == "inf" or e["output_psnr_min_db"] >= 60
    assert {(o["input"], o["size"]) for o in e["outputs"]} == {(k, s) for k in ("random", "real") for s in (32, 48)}
    assert e["denoised"]["pairs"] == 2 and abs(e["denoised"]["delta_psnr"]) < 0.01
    assert set(e["latency"]["32"]) >= {"p50_ms", "p90_ms", "torch_p50_ms", "speedup_vs_torch"}
    assert "synthetic Poisson-Gaussian" in rep["data"]
    md = (tmp_path / "p.md").read_text()
    assert "| onnx-fp32 |" in md and "not real camera noise" in md
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size[0] > 300


def test_threshold_failure_exits_nonzero(root):
    r = _cli("--artifacts", str(root / "arts"), "--fp32-db", "1000", *FAST)
    assert r.exit_code == 1
    assert "FAIL" in r.output and "error: parity failed for 1 of 1" in r.output


def test_broken_artifacts_are_reported_and_skipped_past(root, tmp_path):
    arts = tmp_path / "arts"
    shutil.copytree(root / "arts", arts)
    shutil.copytree(arts / "onnx-fp32", arts / "corrupt")
    (arts / "corrupt" / "model.onnx").write_bytes(b"\x08garbage")
    (arts / "nomanifest").mkdir()
    (arts / "nomanifest" / "model.onnx").write_bytes(b"x")
    (arts / "mac").mkdir()
    (arts / "mac" / "model.mlpackage").mkdir()
    (arts / "mac" / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": "coreml", "precision": "fp32", "artifact": "model.mlpackage"}))
    r = _cli("--artifacts", str(arts), "--json", str(tmp_path / "p.json"), *FAST)
    assert r.exit_code == 1, r.output
    status = {e["name"]: e["status"] for e in json.loads((tmp_path / "p.json").read_text())["artifacts"]}
    import sys

    assert status == {"corrupt": "error", "nomanifest": "error", "onnx-fp32": "pass",
                      "mac": "skipped" if sys.platform != "darwin" else "error"}
    assert "cannot load" in r.output and "no manifest.json" in r.output


def test_real_pairs_folder_and_weights_mismatch(root, tmp_path):
    from pngan.io.images import write_image
    from pngan.noise import add_poisson_gaussian
    from pngan.assets.samples import sample_image

    data = tmp_path / "pairs"
    clean = sample_image("coffee")[:64, :80]
    write_image(data / "groundtruth" / "a_mean.png", clean)
    write_image(data / "input" / "a_real.png", add_poisson_gaussian(clean, np.random.default_rng(1), 4e-3, 2e-4))
    arts = tmp_path / "arts"
    shutil.copytree(root / "arts", arts)
    m = json.loads((arts / "onnx-fp32" / "manifest.json").read_text())
    m["weights_sha256"] = "0" * 64
    (arts / "onnx-fp32" / "manifest.json").write_text(json.dumps(m))
    r = _cli("--artifacts", str(arts), "--data", str(data), "--json", str(tmp_path / "p.json"), *FAST)
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "p.json").read_text())
    assert rep["data"].startswith("1 pairs from") and rep["artifacts"][0]["denoised"]["pairs"] == 1
    assert "differ from the exported weights" in r.output


def test_find_artifacts_and_synthetic_pairs(root, tmp_path):
    assert [p.name for p in find_artifacts(root / "arts")] == ["onnx-fp32"]
    assert find_artifacts(root / "arts" / "onnx-fp32") == [root / "arts" / "onnx-fp32"]
    from pngan.errors import PnganError

    with pytest.raises(PnganError, match="no artifact folders"):
        find_artifacts(tmp_path)
    a, b = synthetic_pairs(3), synthetic_pairs(3)
    assert np.array_equal(a.items[0][1], b.items[0][1]) and len(a.items) == 2
