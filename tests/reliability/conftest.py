"""Reliability suite: make the helper modules beside this file importable (pytest runs with importlib mode),
and the fixtures that more than one of its test modules use."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, export_tiny_dncnn):
    """A good fp32 and fp16 ONNX export of a tiny DnCNN (made once; tests copy them)."""
    from pngan.export import export

    root = tmp_path_factory.mktemp("arts")
    net, weights, arts = export_tiny_dncnn(root)
    fp16 = export(net, "onnx", root / "arts", weights=weights, precision="fp16")
    return arts["onnx"], fp16
