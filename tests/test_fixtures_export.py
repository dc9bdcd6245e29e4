"""Numeric fixtures through the deployed forms: ``InferenceModel`` and an ONNX export run by onnxruntime
must compute the recorded numbers (tests/data/fixtures/models.json, "clamped": output clamped to [0, 1]).

The parity tests compare an artifact with torch; this pins both to numbers recorded once, so an exporter
or runner change that alters the computation fails even where torch and the artifact change together.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pngan.models import build, save_weights
from pngan.models.inference import InferenceModel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "data" / "fixtures" / "models.json").read_text())


def _script():
    spec = importlib.util.spec_from_file_location("pngan_record_fixtures", ROOT / "scripts" / "record_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


rf = _script()


@pytest.mark.parametrize("name", ["dncnn", "smnet-s", "ridnet"])
@pytest.mark.parametrize("size", sorted(rf.SIZES))
def test_inference_model_matches_clamped_fixture(name: str, size: str):
    model = InferenceModel(rf.fill_deterministic(build(name)))
    with torch.no_grad():
        y = model(rf.fixed_input(*rf.SIZES[size]))
    diffs = rf.compare(REF["models"][name]["outputs"][size]["clamped"], rf.summarise(y))
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("name", ["dncnn", "smnet-s"])
def test_onnx_artifact_matches_clamped_fixture(name: str, tmp_path: Path):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    from pngan.export import export
    from pngan.runtimes import open_artifact

    net = rf.fill_deterministic(build(name))
    weights = save_weights(net, tmp_path / "w.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "onnx", tmp_path / "arts", weights=weights, validate=False)
    runner = open_artifact(folder)
    try:
        y = runner(rf.fixed_input(*rf.SIZES["multiple"]).numpy())  # 16x20: above the artifact's minimum side
    finally:
        runner.close()
    got = rf.summarise(torch.from_numpy(np.asarray(y)))
    diffs = rf.compare(REF["models"][name]["outputs"]["multiple"]["clamped"], got)
    assert not diffs, f"{name} ONNX artifact:\n" + "\n".join(diffs)
