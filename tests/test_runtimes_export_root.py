"""Opening an export root (a folder of artifact folders) as one artifact names the artifacts inside it."""

from __future__ import annotations

import json

import pytest

from pngan.errors import ArtifactError


def _artifact(folder):
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"x")
    (folder / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": "onnx", "precision": "fp32", "artifact": "model.onnx"}))


def test_export_root_lists_its_artifacts(tmp_path):
    from pngan.runtimes.opening import open_artifact

    root = tmp_path / "A"
    for name in ("onnx-int8", "onnx-fp32"):
        _artifact(root / name)
    (root / "notes").mkdir()
    with pytest.raises(ArtifactError) as e:
        open_artifact(root)
    msg = str(e.value)
    assert "\n" not in msg
    assert f"{root} is an export root holding onnx-fp32, onnx-int8: pass one of them, e.g. {root / 'onnx-fp32'}" \
        in msg, msg


def test_empty_folder_still_says_not_an_artifact_folder(tmp_path):
    from pngan.runtimes.opening import open_artifact

    with pytest.raises(ArtifactError, match="not an artifact folder"):
        open_artifact(tmp_path)
