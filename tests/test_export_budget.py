"""Validation an export cannot fool with its own calibration crops: per-folder denoised drops on pairs it was not
calibrated on (``--val-pairs``, default the shipped samples at three noise levels), a budget (``--max-drop``)
that fails the export naming the folder, ``--allow-drop``, repeatable ``--calib-dir`` and its level note."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

from pngan.cli.export_cmd import main  # noqa: E402
from pngan.models import build  # noqa: E402

pytestmark = pytest.mark.slow

SHAPE = ["--opt-shape", "32", "32", "--min-shape", "8", "8"]


@pytest.fixture(scope="module")
def weights(tiny_dncnn_weights):
    return tiny_dncnn_weights


def _pairs(root, n=4, size=(40, 48), sigma=20.0, seed=0, clean_size=None):
    """A paired folder input/ + groundtruth/ of smooth images with AWGN ``sigma``."""
    rng = np.random.default_rng(seed)
    (root / "input").mkdir(parents=True)
    (root / "groundtruth").mkdir()
    h, w = size
    for i in range(n):
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        clean = np.stack([0.2 + 0.6 * yy, 0.3 + 0.4 * xx, 0.5 + 0.2 * np.sin(6 * xx + i)], -1)
        noisy = np.clip(clean + sigma / 255 * rng.standard_normal(clean.shape), 0, 1)
        Image.fromarray((noisy * 255).round().astype(np.uint8)).save(root / "input" / f"p{i}.png")
        c = (clean * 255).round().astype(np.uint8)
        if clean_size is not None and i == 0:
            c = c[:clean_size[0], :clean_size[1]]
        Image.fromarray(c).save(root / "groundtruth" / f"p{i}.png")
    return root


def _photos(folder, n=4, sigma=2.0, seed=0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        yy, xx = np.mgrid[0:40, 0:48] / 48
        img = np.stack([0.3 + 0.5 * yy, 0.4 + 0.3 * xx, 0.5 + 0.0 * xx], -1)
        img = img + sigma / 255 * rng.standard_normal((40, 48, 3))
        Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def _run(*args):
    return CliRunner().invoke(main, ["--model", "dncnn", *args])


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_val_pairs_are_scored_per_folder_and_never_the_calibration_crops(weights, tmp_path):
    a, b = _pairs(tmp_path / "a", sigma=5), _pairs(tmp_path / "b", sigma=25, seed=1)
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(a), "--calib-samples", "4",
             "--val-pairs", str(a), "--val-pairs", str(b), "--allow-drop", *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("onnx-int8:"))
    assert re.search(r"denoised \S+/a [+-][\d.]+, \S+/b [+-][\d.]+ dB \(budget 0.3 dB\)", line), line
    rec = _manifest(tmp_path / "o" / "onnx-int8")["validation"]
    assert [f["folder"].split("/")[-1] for f in rec["folders"]] == ["a", "b"]
    assert all(f["images"] == 4 for f in rec["folders"]) and "calibration" not in rec["images"]
    assert rec["folders"][1]["noise_std"] > 3 * rec["folders"][0]["noise_std"]


def test_over_budget_fails_naming_the_folder_and_allow_drop_keeps_it(weights, tmp_path):
    """A wrong-weights check: torch with other weights than the artifact's loses far more than any budget."""
    from pngan.export.validate import validate_artifact
    from pngan.models import load_model
    from pngan.runtimes.val_sets import folder_val_set

    r = _run("--weights", str(weights), *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    torch.manual_seed(1)
    other = build("dncnn", features=8, depth=3).eval()
    sets = [folder_val_set(_pairs(tmp_path / "v", sigma=25))]
    rec = validate_artifact(tmp_path / "o" / "onnx-fp32", other, generator=False, val_sets=sets)
    assert rec["status"] == "fail" and rec["folders"][0]["folder"].endswith("/v"), rec
    rec = validate_artifact(tmp_path / "o" / "onnx-fp32", load_model("dncnn", weights), generator=False,
                            val_sets=sets)
    assert rec["status"] == "pass" and abs(rec["folders"][0]["delta_db"]) < 0.01, rec
    r = _run("--weights", str(weights), "--precision", "int8", "--max-drop", "0.000001", *SHAPE,
             "--out", str(tmp_path / "o2"))
    if "budget" in r.output and r.exit_code == 1:  # an INT8 artifact that lost more than 1e-6 dB somewhere
        (err,) = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
        assert re.search(r"denoised -[\d.]+ dB on samples:\w+, over the 1e-06 dB budget \(--max-drop\)", err), err
        r = _run("--weights", str(weights), "--precision", "int8", "--max-drop", "0.000001", "--allow-drop",
                 *SHAPE, "--out", str(tmp_path / "o2"), "--force")
        assert r.exit_code == 0 and "OVER BUDGET" in r.output, r.output
        assert _manifest(tmp_path / "o2" / "onnx-int8")["validation"]["status"].startswith("over budget")


@pytest.mark.parametrize("case, message", [
    ("unpaired", "cannot pair"), ("sizes", "is 48x40 but clean"), ("missing", "no such folder"),
    ("twice", "given twice")])
def test_bad_val_pairs_one_line_nothing_written(weights, tmp_path, case, message):
    root = tmp_path / "v"
    if case == "unpaired":
        _pairs(root)
        (root / "groundtruth" / "p1.png").rename(root / "groundtruth" / "zz.png")
    elif case == "sizes":
        _pairs(root, clean_size=(30, 30))
    elif case == "twice":
        _pairs(root)
    args = ["--val-pairs", str(root)] * (2 if case == "twice" else 1)
    r = _run("--weights", str(weights), *args, *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    (err,) = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert message in err.lower() or message in err, err
    assert not (tmp_path / "o" / "onnx-fp32").exists()


def test_repeatable_calib_dir_shares_the_crops_and_notes_a_lighter_level(weights, tmp_path):
    light, heavy = _photos(tmp_path / "light", sigma=1.0), _photos(tmp_path / "heavy", sigma=30.0, seed=1)
    val = _pairs(tmp_path / "v", sigma=30)
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(light), "--calib-samples", "5",
             "--val-pairs", str(val), "--allow-drop", *SHAPE, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert "carry lighter noise" in r.output and "/v (~" in r.output, r.output
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(light), "--calib-dir", str(heavy),
             "--calib-samples", "5", "--val-pairs", str(val), "--allow-drop", *SHAPE, "--out", str(tmp_path / "o2"))
    assert r.exit_code == 0 and "carry lighter noise" not in r.output, r.output
    assert "3 crops 32x32 of" in r.output and "+ 2 crops 32x32 of" in r.output, r.output
    cal = _manifest(tmp_path / "o2" / "onnx-int8")["calibration"]
    assert [p["samples"] for p in cal["parts"]] == [3, 2] and cal["samples"] == 5
    r = _run("--weights", str(weights), "--precision", "int8", "--calib-dir", str(light), "--calib-dir", str(light),
             *SHAPE, "--out", str(tmp_path / "o3"))
    assert r.exit_code != 0 and "--calib-dir given twice" in r.output and not (tmp_path / "o3").exists()


def test_mixed_refused_where_it_cannot_apply(weights, tmp_path):
    for args, message in ((["--mixed"], "--mixed applies to --precision int8"),
                          (["--mixed", "--precision", "int8", "--target", "litert"], "keeps no layers in float"),
                          (["--max-drop", "0"], "--max-drop must be > 0"),
                          (["--mixed", "--precision", "int8", "--no-validate"], "--no-validate skips")):
        r = _run("--weights", str(weights), *args, *SHAPE, "--out", str(tmp_path / "o"))
        assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output, (args, r.output)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("target", ["onnx", "openvino"])
def test_mixed_keeps_the_fewest_float_layers_that_meet_the_budget(tmp_path, target):
    """Budget half of what plain INT8 loses on the validation pairs: the search keeps layers in float to meet it,
    or says in one line that no mix can; the manifest records the float layers and the drop per folder."""
    pytest.importorskip("nncf" if target == "openvino" else "onnxruntime")
    from pngan.errors import PnganError
    from pngan.export import Budget, export
    from pngan.export.shapes import ShapeSpec
    from pngan.models import default_weights, load_model

    net, val = load_model("dncnn", default_weights("dncnn")), _pairs(tmp_path / "v", sigma=25)  # a real denoiser
    calib = _photos(tmp_path / "c", sigma=1.0)
    kw = dict(precision="int8", calib_dir=calib, calib_samples=4, shapes=ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = export(net, target, tmp_path / "plain", budget=Budget((val,), allow_drop=True), **kw)
        lost = -_manifest(plain)["validation"]["folders"][0]["delta_db"]
        if lost < 0.02:
            pytest.skip(f"plain INT8 of the test net loses {lost:.3f} dB: nothing for the search to win")
        try:
            folder = export(net, target, tmp_path / "mixed", budget=Budget((val,), max_drop=lost / 2, mixed=True), **kw)
        except PnganError as e:
            assert "no mix meets --max-drop" in str(e) and "\n" not in str(e), str(e)
            return
    m = _manifest(folder)
    mixed = m["quantization"]["mixed"]
    assert mixed["float_layers"] and mixed["worst_drop_db"] <= lost / 2 + 1e-9
    assert mixed["all_int8_worst_drop_db"] == pytest.approx(lost, abs=0.02)
    assert m["validation"]["status"] == "pass" and -m["validation"]["folders"][0]["delta_db"] <= lost / 2 + 0.01


def test_parity_shows_the_export_drops_and_fails_over_the_recorded_budget(tmp_path):
    from pngan.export import Budget, export
    from pngan.export.shapes import ShapeSpec
    from pngan.models import default_weights, load_model
    from pngan.runtimes.parity import Thresholds, run_parity
    from pngan.runtimes.parity_report import to_table

    net, val = load_model("dncnn", default_weights("dncnn")), _pairs(tmp_path / "v", sigma=25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "onnx", tmp_path / "a", precision="int8", calib_dir=_photos(tmp_path / "c", sigma=1.0),
                        calib_samples=4, shapes=ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32)),
                        budget=Budget((val,), max_drop=20.0))
    kw = dict(data=val, sizes=(32,), latency_sizes=(32,), repeats=1,
              thresholds=Thresholds(int8_delta_db=30.0, int8_keep_gain=0.0))  # parity's own drop rule out of the way
    (res,) = run_parity(tmp_path / "a", **kw).artifacts
    assert res.budget_db == 20.0 and res.export_drops and res.status == "pass", (res.status, res.rule)
    assert "its export's validation: denoised" in to_table(run_parity(tmp_path / "a", **kw))
    m = _manifest(folder)
    m["validation"]["max_drop_db"] = 1e-6  # a budget this artifact cannot meet on the pairs
    (folder / "manifest.json").write_text(json.dumps(m))
    (res,) = run_parity(tmp_path / "a", **kw).artifacts
    assert res.status == "fail" and "over the 1e-06 dB budget its export recorded" in res.rule, res.rule


def test_bypassing_every_activation_quantizer_gives_back_the_float_model(tmp_path):
    """The ranking probe of ``--mixed`` (ONNX Runtime): with every activation quantizer bypassed (the Relus the
    quantizer folded put back), only the INT8 weights differ from float: far closer than plain INT8."""
    import onnxruntime as ort

    from pngan.export import export
    from pngan.export.onnx_quantize import bypass_qdq, pre_process, qdq_layers, relu_outputs
    from pngan.export.shapes import ShapeSpec
    from pngan.metrics import psnr_float
    from pngan.models import default_weights, load_model

    net = load_model("dncnn", default_weights("dncnn"))
    shapes = ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f32 = export(net, "onnx", tmp_path / "f", shapes=shapes, validate=False) / "model.onnx"
        q = export(net, "onnx", tmp_path / "q", precision="int8", calib_dir=_photos(tmp_path / "c", sigma=1.0),
                   calib_samples=4, shapes=shapes, validate=False) / "model.onnx"
    relus = relu_outputs(pre_process(f32, tmp_path / "pre.onnx"))
    assert relus, "DnCNN has Relus"
    x = _pairs(tmp_path / "v", n=1, sigma=25)  # a noisy photo-like input
    from pngan.io.images import read_image

    img = read_image(next((x / "input").iterdir())).transpose(2, 0, 1)[None].astype(np.float32)

    def run(model):
        s = ort.InferenceSession(model if isinstance(model, bytes) else str(model), providers=["CPUExecutionProvider"])
        return s.run(None, {s.get_inputs()[0].name: img})[0]

    ref = run(f32)
    plain, bypassed = psnr_float(ref, run(q)), psnr_float(ref, run(bypass_qdq(q, qdq_layers(q), relus)))
    assert bypassed > plain + 3.0, (plain, bypassed)
    broken = psnr_float(ref, run(bypass_qdq(q, qdq_layers(q))))  # without the Relus put back
    assert broken < bypassed - 3.0, (broken, bypassed)
