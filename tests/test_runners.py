"""Runners for exported artifacts: ONNX Runtime, OpenVINO (options, cache, static shapes), Core ML, TensorRT."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pngan.errors import ArtifactError, BackendMissingError, PnganError
from pngan.metrics import psnr_float
from pngan.runtimes import InputError, PlatformError, Runner, backend_options, open_artifact
from pngan.runtimes.torch_runner import TorchRunner

pytestmark = pytest.mark.slow

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")


@pytest.fixture(scope="module")
def art(tmp_path_factory, export_tiny_dncnn):
    """A tiny DnCNN exported to ONNX and OpenVINO FP32 (with weights on disk, as pngan-export does)."""
    from pngan.export import TARGETS

    try:
        import openvino  # noqa: F401

        targets = ("onnx", "openvino") if "openvino" in TARGETS else ("onnx",)
    except ImportError:
        targets = ("onnx",)
    root = tmp_path_factory.mktemp("art")
    net, w, arts = export_tiny_dncnn(root / "a", targets)
    return {"net": net, "weights": w, "onnx": arts["onnx"],
            "openvino": arts.get("openvino")}


def _x(h=40, w=56, n=2, seed=0):
    return np.random.default_rng(seed).random((n, 3, h, w), dtype=np.float32)


def test_onnxruntime_runner_parity_and_options(art):
    ref = TorchRunner(art["net"])(_x())
    for opts in ({}, {"threads": 1, "opt_level": "disable"}, {"providers": ["CPUExecutionProvider"]}):
        with open_artifact(art["onnx"], **opts) as r:
            assert isinstance(r, Runner) and r.backend == "onnxruntime" and r.precision == "fp32"
            assert r.device == "CPUExecutionProvider"
            assert psnr_float(ref, r(_x())) > 80
    assert r._closed
    with pytest.raises(PnganError, match="closed"):
        r(_x())


def test_option_errors(art):
    with pytest.raises(PnganError, match="do not apply to onnx"):
        open_artifact(art["onnx"], hint="latency")
    with pytest.raises(PnganError, match="not available"):
        open_artifact(art["onnx"], providers=["NoSuchExecutionProvider"])
    with pytest.raises(PnganError, match="opt_level"):
        open_artifact(art["onnx"], opt_level="fast")
    open_artifact(art["onnx"], hint="latency", ignore_unknown=True).close()
    assert "hint" in backend_options("openvino") and "opt_level" in backend_options("onnx")


def test_input_errors_through_an_artifact(art):
    with open_artifact(art["onnx"]) as r:
        with pytest.raises(InputError, match="float32"):
            r(_x().astype(np.float16))
        with pytest.raises(InputError, match=r"\[0, 1\]"):
            r(_x() * 255)
        with pytest.raises(InputError, match="N x 3"):
            r(_x()[:, :1])
        with pytest.raises(InputError, match="smaller than the network's minimum 16x16"):
            r(_x(8, 40))  # the export's shape range starts at 16


def test_runner_tiles_beyond_the_shape_range(art):
    with open_artifact(art["onnx"]) as r:
        r.max_hw = (64, 64)
        calls = []
        inner = r._run
        r._run = lambda x: calls.append(x.shape) or inner(x)
        x = _x(150, 90, n=1)
        y = r(x)
        assert y.shape == x.shape and max(c[2] for c in calls) == 64 and len(calls) > 1
        assert psnr_float(TorchRunner(art["net"])(x), y) > 80


def test_openvino_runner(art, tmp_path):
    if art["openvino"] is None:
        pytest.skip("openvino is not installed")
    x = _x()
    ref = TorchRunner(art["net"])(x)
    with open_artifact(art["openvino"], threads=1, hint="latency", cache_dir=tmp_path / "cache") as r:
        assert r.backend == "openvino" and r.device == "CPU" and r.options["inference_precision"] == "f32"
        assert psnr_float(ref, r(x)) > 80
        assert r(_x(33, 17, n=1)).shape == (1, 3, 33, 17)  # dynamic H x W
    assert any((tmp_path / "cache").iterdir())  # the compiled-model cache was written
    with open_artifact(art["openvino"], hint="throughput") as r:  # batch split over infer requests
        assert psnr_float(ref, r(x)) > 80
    with pytest.raises(PnganError, match="performance hint"):
        open_artifact(art["openvino"], hint="fastest")


def test_openvino_static_shape_is_tiled(art, tmp_path):
    if art["openvino"] is None:
        pytest.skip("openvino is not installed")
    import openvino as ov

    from pngan.runtimes.manifest import read_manifest, write_manifest

    folder = tmp_path / "ov-static"
    folder.mkdir()
    model = ov.Core().read_model(str(art["openvino"] / "model.xml"))
    model.reshape([1, 3, 32, 32])
    ov.save_model(model, str(folder / "model.xml"), compress_to_fp16=False)  # keep fp32, as the manifest says
    m = read_manifest(art["openvino"])
    write_manifest(folder, {**m, "input_shape": [1, 3, 32, 32], "shape_range": None,
                            "dynamic_dims": ["batch"]})
    x = _x(50, 70, n=1)
    with open_artifact(folder) as r:
        assert r.static_shape == (1, 32, 32)
        y = r(x)
    assert y.shape == x.shape
    assert psnr_float(TorchRunner(art["net"])(x), y) > 80  # local net: tiles reproduce the whole image


def test_corrupted_openvino_ir(art, tmp_path):
    if art["openvino"] is None:
        pytest.skip("openvino is not installed")
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(art["openvino"], folder)
    (folder / "model.xml").write_text("<net><broken")
    with pytest.raises(ArtifactError, match="OpenVINO cannot load"):
        open_artifact(folder)


def test_unknown_target(tmp_path):
    (tmp_path / "model.x").write_text("")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": "tflite", "precision": "fp32", "artifact": "model.x"}))
    with pytest.raises(ArtifactError, match="no runner for target 'tflite'"):
        open_artifact(tmp_path)


def _fake_artifact(tmp_path, target, fname):
    (tmp_path / fname).write_bytes(b"not a model")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": target, "precision": "fp16", "artifact": fname}))
    return tmp_path


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the non-macOS message")
def test_coreml_needs_macos(tmp_path):
    with pytest.raises(PlatformError, match="Core ML prediction needs macOS"):
        open_artifact(_fake_artifact(tmp_path, "coreml", "model.mlpackage"))


def test_tensorrt_missing_or_corrupt(tmp_path):
    folder = _fake_artifact(tmp_path, "tensorrt", "model.engine")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(BackendMissingError, match="tensorrt"):
            open_artifact(folder)
        return
    with pytest.raises((ArtifactError, PlatformError)):
        open_artifact(folder)


def test_tensorrt_static_shape_helper():
    from pngan.runtimes.tensorrt_runner import engine_static_shape

    assert engine_static_shape([1, 3, 256, 256]) == (1, 256, 256)
    assert engine_static_shape([-1, 3, -1, -1]) is None
