"""ONNX export -> ONNX Runtime parity at two sizes (dynamic H/W), manifest, atomicity, errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
import onnx  # noqa: E402

from pngan.errors import BackendMissingError, PnganError  # noqa: E402
from pngan.export import export  # noqa: E402
from pngan.metrics import psnr_float  # noqa: E402
from pngan.models import build  # noqa: E402
from pngan.runtimes import open_artifact  # noqa: E402
from pngan.runtimes.torch_runner import TorchRunner  # noqa: E402

pytestmark = pytest.mark.slow

SIZES = [(1, 3, 48, 64), (2, 3, 37, 53)]


@pytest.mark.parametrize("name", ["dncnn", "ridnet", "smnet-s"])
def test_onnx_parity_at_two_sizes(name, tmp_path, seeded):
    net = build(name).eval()
    folder = export(net, "onnx", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == name and manifest["target"] == "onnx" and manifest["precision"] == "fp32"
    ref = TorchRunner(net)
    with open_artifact(folder, threads=2) as run:
        for shape in SIZES:
            x = np.random.default_rng(shape[2]).random(shape, dtype=np.float32)
            y, y_ref = run(x), ref(x)
            assert y.shape == shape
            assert psnr_float(y, y_ref) >= 60.0, (name, shape)


def test_onnx_metadata_and_dynamic_dims(tmp_path):
    folder = export(build("dncnn", features=8, depth=3), "onnx", tmp_path)
    m = onnx.load(str(folder / "model.onnx"))
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["model"] == "dncnn" and json.loads(meta["config"])["features"] == 8
    assert json.loads(meta["input_range"]) == [0.0, 1.0] and "torch" in json.loads(meta["versions"])
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert all(d.dim_param for d in (dims[0], dims[2], dims[3])) and dims[1].dim_value == 3


def test_existing_output_is_kept_without_force(tmp_path):
    net = build("dncnn", features=8, depth=3)
    folder = export(net, "onnx", tmp_path)
    before = (folder / "model.onnx").read_bytes()
    with pytest.raises(PnganError, match="exists; pass --force"):
        export(net, "onnx", tmp_path)
    assert (folder / "model.onnx").read_bytes() == before
    export(net, "onnx", tmp_path, force=True)


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    import pngan.export.onnx_export as ox

    def boom(*a, **k):
        raise PnganError("ONNX export failed: boom")

    monkeypatch.setattr(ox, "stamp_metadata", boom)
    with pytest.raises(PnganError, match="boom"):
        export(build("dncnn", features=8, depth=3), "onnx", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_target_and_precision(tmp_path):
    with pytest.raises(PnganError, match="unknown target 'tflite'"):
        export(build("dncnn"), "tflite", tmp_path)
    with pytest.raises(PnganError, match="supports precision"):
        export(build("dncnn"), "onnx", tmp_path, precision="int4")


def test_missing_export_extra_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(BackendMissingError, match=r"onnx is not installed; install the 'export' extra"):
        export(build("dncnn"), "onnx", tmp_path)
    assert list(tmp_path.iterdir()) == []
