"""Runner protocol, input validation, and broken artifacts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pngan.errors import ArtifactError
from pngan.models import build
from pngan.runtimes import InputError, Runner, open_artifact
from pngan.runtimes.torch_runner import TorchRunner


def test_torch_runner_is_a_runner_and_clamps():
    run = TorchRunner(build("dncnn"))
    assert isinstance(run, Runner) and run.backend == "torch" and run.precision == "fp32"
    y = run(np.ones((1, 3, 9, 11), np.float32))
    assert y.shape == (1, 3, 9, 11) and y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((1, 3, 8, 8), np.float64), "float32"),
    (np.zeros((3, 8, 8), np.float32), "N x 3 x H x W"),
    (np.zeros((1, 4, 8, 8), np.float32), "N x 3 x H x W"),
    (np.full((1, 3, 8, 8), 255.0, np.float32), r"in \[0, 1\]"),
    ([[0.0]], "numpy array"),
])
def test_bad_inputs(bad, msg):
    with pytest.raises(InputError, match=msg):
        TorchRunner(build("dncnn"))(bad)


def test_artifact_folder_errors(tmp_path):
    with pytest.raises(ArtifactError, match="no such artifact folder"):
        open_artifact(tmp_path / "nope")
    with pytest.raises(ArtifactError, match="no manifest.json"):
        open_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupted manifest"):
        open_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": "onnx", "precision": "fp32", "artifact": "model.onnx"}))
    with pytest.raises(ArtifactError, match="file is missing"):
        open_artifact(tmp_path)


def test_corrupted_onnx_file(tmp_path):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    from pngan.export import export

    folder = export(build("dncnn", features=8, depth=3), "onnx", tmp_path)
    model = folder / "model.onnx"
    model.write_bytes(model.read_bytes()[:200])
    with pytest.raises(ArtifactError, match="cannot load"):
        open_artifact(folder)
