"""Every export ends with a validation against torch: one summary line per artifact, a failing INT8
artifact exits non-zero naming the fixing flag, --no-validate skips it; export(net, "all") works."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

from pngan.cli.export_cmd import main  # noqa: E402

pytestmark = pytest.mark.slow

SHAPE = ["--opt-shape", "32", "32", "--min-shape", "8", "8"]


@pytest.fixture(scope="module")
def weights(tiny_dncnn_weights):
    return tiny_dncnn_weights


def _photos(folder, n=4):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def _run(*args):
    return CliRunner().invoke(main, ["--model", "dncnn", *args])


def test_summary_line_per_artifact_with_size_time_and_numbers(weights, tmp_path):
    r = _run("--weights", str(weights), "--target", "onnx", *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("onnx-fp32:"))
    assert re.search(r"onnx-fp32: [\d.]+ kB, [\d.]+ s, vs torch [\d.]+ dB \([+-][\d.]+ dB over identity\), "
                     r"denoised samples:dslr [+-][\d.]+, samples:mid [+-][\d.]+, samples:phone [+-][\d.]+ dB "
                     r"\(budget 0.3 dB\): ok", line), line
    rec = json.loads((tmp_path / "o" / "onnx-fp32" / "manifest.json").read_text())["validation"]
    assert rec["status"] == "pass", rec
    assert rec["output_psnr_min_db"] == "inf" or rec["output_psnr_min_db"] > 60, rec


def test_no_validate_skips_it(weights, tmp_path):
    r = _run("--weights", str(weights), "--no-validate", *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0 and "onnx-fp32:" in r.output and "not validated (--no-validate)" in r.output
    assert "validation" not in json.loads((tmp_path / "o" / "onnx-fp32" / "manifest.json").read_text())


def test_coreml_says_needs_macos(weights, tmp_path):
    pytest.importorskip("coremltools")
    import sys

    if sys.platform == "darwin":
        pytest.skip("Core ML predicts on macOS")
    r = _run("--weights", str(weights), "--target", "coreml", *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert "coreml-fp32:" in r.output and "not validated (needs macOS)" in r.output


def test_int8_below_threshold_exits_nonzero_with_the_fix(weights, tmp_path, monkeypatch):
    import pngan.export.validate as validate
    from pngan.runtimes.parity_rules import Thresholds

    strict = Thresholds(int8_keep_gain=5.0, int8_margin_db=1e3)  # 5x torch's gain, 1000 dB margin: no artifact
    monkeypatch.setattr(validate, "Thresholds", lambda: strict)
    calib = _photos(tmp_path / "photos")
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(calib), *SHAPE,
             "--out", str(tmp_path / "o"))
    assert r.exit_code == 1, r.output
    assert re.search(r"onnx-int8: .*: FAIL", r.output)
    (err,) = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert "failed validation" in err and "--calib-dir" in err and "kept in" in err
    assert (tmp_path / "o" / "onnx-int8" / "model.onnx").is_file()


def test_calibration_line_says_which_data(weights, tmp_path):
    calib = _photos(tmp_path / "photos")
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(calib), "--calib-samples", "4",
             *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert "calibration: 4 crops 32x32 of" in r.output and "used as they are (no noise added)" in r.output
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(calib), "--calib-samples", "4",
             "--calib-noise", "poisson-gaussian", *SHAPE, "--out", str(tmp_path / "o2"))
    assert r.exit_code == 0 and "synthetic Poisson-Gaussian noise added" in r.output, r.output
    cal = json.loads((tmp_path / "o2" / "onnx-int8" / "manifest.json").read_text())["calibration"]
    assert cal["noise"].startswith("poisson-gaussian")


def test_python_export_all(weights, tmp_path):
    from pngan.export import export
    from pngan.export.shapes import ShapeSpec
    from pngan.models import load_model

    net = load_model("dncnn", weights)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        written = export(net, "all", tmp_path, weights=weights, validate=False,
                         shapes=ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32), max_hw=(64, 64)))
    assert isinstance(written, list) and tmp_path / "onnx-fp32" in written
    assert all((f / "manifest.json").is_file() for f in written)
    if "tensorrt" not in {f.name.split("-")[0] for f in written}:
        assert any("skipped tensorrt" in str(w.message) for w in seen)


def test_openvino_fp16_runs_at_fp16_precision_not_bf16(weights, tmp_path):
    """On CPUs with bf16 the plugin default ran FP16 IRs at bfloat16 (60 dB vs torch, below identity + 10 dB)."""
    pytest.importorskip("openvino")
    r = _run("--weights", str(weights), "--target", "openvino", "--precision", "fp16", *SHAPE,
             "--out", str(tmp_path / "o"))
    assert r.exit_code == 0 and re.search(r"openvino-fp16: .*: ok", r.output), r.output
    from pngan.runtimes.opening import open_artifact

    with open_artifact(tmp_path / "o" / "openvino-fp16") as runner:
        assert runner.options["inference_precision"] in ("f16", "f32")
    rec = json.loads((tmp_path / "o" / "openvino-fp16" / "manifest.json").read_text())["validation"]
    assert rec["output_psnr_min_db"] == "inf" or rec["output_psnr_min_db"] > 70
