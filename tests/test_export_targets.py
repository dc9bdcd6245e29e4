"""ONNX FP16/INT8, OpenVINO, Core ML exports, shapes, calibration notes and bad input (tiny models)."""

from __future__ import annotations

import json
import platform
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
import onnx  # noqa: E402

from pngan.errors import PnganError  # noqa: E402
from pngan.cli.export_cmd import main as export_main  # noqa: E402
from pngan.export.exporter import CalibrationNote, export, export_all  # noqa: E402
from pngan.export.shapes import ShapeSpec  # noqa: E402
from pngan.metrics import psnr_float  # noqa: E402
from pngan.models import build, save_weights  # noqa: E402
from pngan.runtimes.torch_runner import TorchRunner  # noqa: E402

pytestmark = pytest.mark.slow

SMALL = ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32), max_hw=(256, 256))
X = np.random.default_rng(1).random((2, 3, 37, 45), dtype=np.float32)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build("dncnn", features=8, depth=3).eval()


@pytest.fixture(scope="module")
def ref(net):
    return TorchRunner(net)(X)


@pytest.fixture
def calib_dir(tmp_path):
    d = tmp_path / "calib"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return d


def _ort(folder):
    import onnxruntime as ort

    s = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return s, lambda x: s.run(None, {"input": x})[0]


def _ov(folder):
    import openvino as ov

    cm = ov.Core().compile_model(str(folder / "model.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda x: cm(x)[cm.outputs[0]]


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_onnx_fp16_keeps_float32_io(net, ref, tmp_path):
    folder = export(net, "onnx", tmp_path, precision="fp16", shapes=SMALL)
    s, run = _ort(folder)
    assert s.get_inputs()[0].type == "tensor(float)" and s.get_outputs()[0].type == "tensor(float)"
    assert psnr_float(run(X), ref) >= 45.0
    m = onnx.load(str(folder / "model.onnx"))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in m.graph.initializer)
    assert _manifest(folder)["precision"] == "fp16" and _manifest(folder)["calibration"] is None


def test_onnx_int8_qdq_per_channel(net, ref, tmp_path, calib_dir):
    folder = export(net, "onnx", tmp_path, precision="int8", calib_dir=calib_dir, calib_samples=4, shapes=SMALL)
    m = onnx.load(str(folder / "model.onnx"))
    ops = [n.op_type for n in m.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    inits = {t.name: t for t in m.graph.initializer}
    weight_scales = [n.input[1] for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
                     and inits[n.input[0]].data_type == onnx.TensorProto.INT8]
    assert weight_scales and all(len(inits[s].dims) == 1 and inits[s].dims[0] > 1 for s in weight_scales)
    _, run = _ort(folder)
    assert psnr_float(run(X), ref) >= 25.0  # tiny random net; the real drop is measured on PolyU by hand
    cal = _manifest(folder)["calibration"]
    assert cal["source"] == str(calib_dir) and cal["samples"] == 4 and cal["crop"] == [32, 32]


def test_int8_without_calib_dir_uses_shipped_samples_with_note(net, tmp_path):
    with pytest.warns(CalibrationNote, match="shipped sample images"):
        folder = export(net, "onnx", tmp_path, precision="int8", calib_samples=2, shapes=SMALL)
    assert _manifest(folder)["calibration"]["source"] == "shipped samples"


def test_fixed_input_shape(net, tmp_path):
    folder = export(net, "onnx", tmp_path, shapes=ShapeSpec(fixed=(40, 48)))
    dims = onnx.load(str(folder / "model.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 40, 48]
    man = _manifest(folder)
    assert man["input_shape"] == [1, 3, 40, 48] and man["dynamic_dims"] == ["batch"]


@pytest.mark.parametrize("precision,floor", [("fp32", 60.0), ("fp16", 45.0)])
def test_openvino_parity_dynamic(net, ref, tmp_path, precision, floor):
    pytest.importorskip("openvino")
    folder = export(net, "openvino", tmp_path, precision=precision)
    assert (folder / "model.xml").is_file() and (folder / "model.bin").is_file()
    man = _manifest(folder)
    assert man["artifact"] == "model.xml" and man["dynamic_dims"] == ["batch", "height", "width"]
    assert "openvino" in man["versions"]
    run = _ov(folder)
    assert psnr_float(run(X), ref) >= floor
    assert run(X[:1, :, :20, :31]).shape == (1, 3, 20, 31)


def test_openvino_int8_nncf(net, ref, tmp_path, calib_dir):
    pytest.importorskip("nncf")
    folder = export(net, "openvino", tmp_path, precision="int8", calib_dir=calib_dir, calib_samples=3,
                    shapes=SMALL)
    assert _manifest(folder)["quantization"]["method"] == "nncf.quantize"
    assert psnr_float(_ov(folder)(X), ref) >= 25.0


def test_coreml_padding_workaround_is_exact():
    from pngan.export.coreml_export import coreml_friendly_padding
    from pngan.models.inference import InferenceModel

    torch.manual_seed(0)
    model = InferenceModel(build("smnet-s", n_feat=8)).eval()
    with coreml_friendly_padding():
        traced = torch.jit.trace(model, torch.rand(1, 3, 32, 32), check_trace=False)
    x = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        assert torch.equal(traced(x), model(x))


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_coreml_package_spec(net, tmp_path, precision):
    ct = pytest.importorskip("coremltools")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "coreml", tmp_path, precision=precision, shapes=SMALL)
    man = _manifest(folder)
    assert man["artifact"] == "model.mlpackage" and man["minimum_deployment_target"] == "iOS16"
    assert man["calibration"] is None and man["dynamic_dims"] == ["height", "width"]
    spec = ct.utils.load_spec(str(folder / "model.mlpackage"))
    assert spec.WhichOneof("Type") == "mlProgram"
    (inp,), (out,) = spec.description.input, spec.description.output
    assert inp.name == "input" and out.name == "output"
    rng = inp.type.multiArrayType.shapeRange.sizeRanges
    assert [(r.lowerBound, r.upperBound) for r in rng] == [(1, 1), (3, 3), (8, 256), (8, 256)]
    f32 = ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32
    assert inp.type.multiArrayType.dataType == f32 and out.type.multiArrayType.dataType == f32  # callers unchanged
    ops = set(man["ops"])
    assert {"conv", "relu", "clip"} <= ops
    assert ("constexpr_affine_dequantize" in ops) == (precision == "int8")
    if platform.system() != "Darwin":
        pytest.skip("Core ML prediction needs macOS; conversion, saving and the spec were checked")
    mlmodel = ct.models.MLModel(str(folder / "model.mlpackage"))
    x = X[:1]
    y = mlmodel.predict({"input": x})["output"]
    floor = {"fp32": 60.0, "fp16": 45.0, "int8": 25.0}[precision]
    assert psnr_float(y, TorchRunner(net)(x)) >= floor


def test_export_all_lists_skipped(net, tmp_path, monkeypatch):
    for mod in ("tensorrt", "coremltools", "executorch", "litert_torch"):
        monkeypatch.setitem(__import__("sys").modules, mod, None)
    written, skipped = export_all(net, tmp_path, precision="fp16", shapes=SMALL)
    assert sorted(p.name for p in written) == ["onnx-fp16", "openvino-fp16"]
    assert "'tensorrt' extra" in skipped["tensorrt"] and "'coreml' extra" in skipped["coreml"]
    assert "'executorch' extra" in skipped["executorch"] and "'litert' extra" in skipped["litert"]


# --- bad input: one-line errors, nothing left behind ---------------------------------------------

def _cli(*args):
    return CliRunner().invoke(export_main, list(args))


def _tiny_weights(tmp_path, name="dncnn", **cfg):
    torch.manual_seed(0)
    p = tmp_path / f"{name}.safetensors"
    save_weights(build(name, **cfg), p)
    return p


def _one_error(r, pattern):
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert pattern in lines[0], lines[0]


@pytest.mark.parametrize("args,pattern", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--model", "dncnn", "--target", "tflite"], "unknown target 'tflite'"),
    (["--model", "dncnn", "--precision", "int4"], "unknown precision 'int4'"),
    (["--model", "dncnn", "--mixed"], "--mixed applies to --precision int8"),
    (["--model", "dncnn", "--input-shape", "64", "64", "--dynamic"], "exclude each other"),
])
def test_cli_bad_arguments(tmp_path, args, pattern):
    r = _cli(*args, "--out", str(tmp_path / "o"))
    _one_error(r, pattern)
    assert not (tmp_path / "o").exists()


def test_cli_bad_calibration_folders(tmp_path):
    w = _tiny_weights(tmp_path, features=8, depth=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_error(_cli("--model", "dncnn", "--weights", str(w), "--precision", "int8", "--calib-dir", str(empty),
                    "--out", str(tmp_path / "o")), "folder has no images")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.jpg").write_bytes(b"\xff\xd8garbage")
    _one_error(_cli("--model", "dncnn", "--weights", str(w), "--precision", "int8", "--calib-dir", str(bad),
                    "--calib-samples", "1", "--out", str(tmp_path / "o")), "cannot decode image")
    assert not (tmp_path / "o").exists()


def test_cli_weights_for_another_model(tmp_path):
    w = _tiny_weights(tmp_path, "smnet-s", n_feat=8)
    _one_error(_cli("--model", "dncnn", "--weights", str(w), "--out", str(tmp_path / "o")), "not 'dncnn'")
    assert not (tmp_path / "o").exists()


def test_cli_existing_out_needs_force_and_int8_note(tmp_path):
    w = _tiny_weights(tmp_path, features=8, depth=3)
    args = ["--model", "dncnn", "--weights", str(w), "--precision", "int8", "--calib-samples", "2",
            "--opt-shape", "32", "32", "--out", str(tmp_path / "o")]
    r = _cli(*args)
    assert r.exit_code == 0, r.output
    assert "warning: no --calib-dir: calibrating INT8 on the shipped sample images" in r.output
    assert "wrote " in r.output and (tmp_path / "o" / "onnx-int8" / "model.onnx").is_file()
    _one_error(_cli(*args), "exists; pass --force")
    assert _cli(*args, "--force").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["onnx-int8"]


def test_failed_target_export_leaves_nothing(net, tmp_path, monkeypatch):
    pytest.importorskip("openvino")
    import pngan.export.openvino_export as ovx

    def boom(*a, **k):
        raise PnganError("conversion failed: boom")

    monkeypatch.setattr(ovx, "quantize_int8", boom)
    with pytest.raises(PnganError, match="boom"):
        export(net, "openvino", tmp_path, precision="int8", calib_samples=1, shapes=SMALL)
    assert list(tmp_path.iterdir()) == []
