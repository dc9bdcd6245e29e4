"""Bad weights, artifacts and training inputs through the commands that load them.

Corrupt, malicious (pickle payloads) or mismatched weights for denoise, export and generate; damaged
export artifact folders in parity and ``open_artifact``; corrupt training data, configs and checkpoints;
weights that output NaN. Each refusal must be one ``error:`` line naming the file or folder, a non-zero
exit and no traceback, and no pickle payload may run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from badfiles import MARKER, WEIGHTS_CASES
from clirun import assert_ok, assert_refused, pngan, pngan_export
from corpus import good_image
from imagesets import flat_images as _flat

pytestmark = pytest.mark.slow

WEIGHTS = [pytest.param(make, id=name) for name, make in WEIGHTS_CASES.items()]


# --- weights -------------------------------------------------------------------------------------

def _refused_without_running(o, path: Path, cwd: Path) -> None:
    assert_refused(o, path.name)
    assert not (cwd / MARKER).exists(), "the pickle payload ran"


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_denoise(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    o = pngan("denoise", "--method", "dncnn", "--weights", w, "--input_dir", _flat(tmp_path / "in"),
              "--result_dir", tmp_path / "out")
    _refused_without_running(o, w, tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_export(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    o = pngan_export("--model", "dncnn", "--weights", w, "--out", tmp_path / "art")
    _refused_without_running(o, w, tmp_path)
    assert not (tmp_path / "art" / "onnx-fp32").exists()


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_generate(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    if w.name == "denoiser.safetensors":  # SMNet-s weights are exactly right for generate
        from pngan.models.shipped import default_weights

        w = tmp_path / "dncnn.safetensors"
        shutil.copy(default_weights("dncnn"), w)  # a denoiser is not a generator
    o = pngan("generate", "--weights", w, "--input_dir", _flat(tmp_path / "in"), "--result_dir", tmp_path / "out")
    _refused_without_running(o, w, tmp_path)


# --- artifacts -----------------------------------------------------------------------------------
# (the ``artifacts`` fixture, a good fp32 and fp16 export, is in conftest.py: test_corpus_pairs.py uses it too)

def _break(kind: str, folder: Path) -> str:
    """Damage one artifact folder; returns what the error must mention."""
    m = json.loads((folder / "manifest.json").read_text())
    if kind == "corrupted-onnx":
        model = folder / m["artifact"]
        model.write_bytes(model.read_bytes()[:300])
        return "corrupted ONNX"
    if kind == "manifest-lies-precision":
        (folder / "manifest.json").write_text(json.dumps({**m, "precision": "fp32"}))
        return "says precision fp32 but model.onnx holds a fp16 model"
    if kind == "manifest-unknown-precision":
        (folder / "manifest.json").write_text(json.dumps({**m, "precision": "int4"}))
        return "unknown precision 'int4'"
    if kind == "manifest-not-json":
        (folder / "manifest.json").write_text("{'model': dncnn")
        return "corrupted manifest"
    if kind == "manifest-is-a-list":
        (folder / "manifest.json").write_text("[1, 2]")
        return "corrupted manifest"
    if kind == "model-file-missing":
        (folder / m["artifact"]).unlink()
        return "file is missing"
    if kind == "manifest-missing":
        (folder / "manifest.json").unlink()
        return "no manifest.json"
    raise AssertionError(kind)


ARTIFACT_CASES = ["corrupted-onnx", "manifest-lies-precision", "manifest-unknown-precision", "manifest-not-json",
                  "manifest-is-a-list", "model-file-missing", "manifest-missing"]


@pytest.mark.parametrize("kind", ARTIFACT_CASES)
def test_broken_artifact_in_parity(kind, artifacts, tmp_path):
    fp32, fp16 = artifacts
    root = tmp_path / "arts"
    shutil.copytree(fp32, root / "good")
    shutil.copytree(fp16, root / "broken")
    needle = _break(kind, root / "broken")
    o = pngan("parity", "--artifacts", root, "--json", tmp_path / "r.json", "--sizes", "32",
              "--latency-sizes", "32", "--repeats", 1)
    assert o.escaped is None and o.code == 1 and "Traceback" not in o.err
    report = json.loads((tmp_path / "r.json").read_text())
    status = {Path(e["artifact"]).name: e for e in report["artifacts"]}
    assert status["good"]["status"] == "pass"  # the good artifact is still checked
    assert status["broken"]["status"] == "error" and needle in status["broken"]["message"]


@pytest.mark.parametrize("kind", ARTIFACT_CASES)
def test_broken_artifact_when_opened(kind, artifacts, tmp_path):
    from pngan.errors import PnganError
    from pngan.runtimes import open_artifact

    folder = tmp_path / "a"
    shutil.copytree(artifacts[1], folder)
    needle = _break(kind, folder)
    with pytest.raises(PnganError) as e:
        open_artifact(folder)
    assert needle in str(e.value) and "\n" not in str(e.value)


# --- training ------------------------------------------------------------------------------------

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
        "data.batch=2", "run.val_every=0", "run.image_every=0", "optim.steps=2", "run.ckpt_every=1", "--no-progress"]


@pytest.fixture
def train_pairs(tmp_path) -> Path:
    root = tmp_path / "pairs"
    for i in range(2):
        good_image(root / "input" / f"{i}.png", 32, 32, seed=i)
        good_image(root / "groundtruth" / f"{i}.png", 32, 32, seed=i)
    return root


def test_train_data_with_a_corrupt_image(train_pairs, tmp_path):
    (train_pairs / "groundtruth" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    o = pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={tmp_path / 'run'}", *TINY)
    assert_refused(o, "1.png", "cannot decode")


def test_train_malformed_config(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[optim]\nsteps = = 3\n")
    assert_refused(pngan("train", "pngan", "--config", cfg), "bad.toml")


@pytest.mark.parametrize("damage", ["truncated", "malicious", "garbage"])
def test_train_resume_from_a_bad_checkpoint(damage, train_pairs, tmp_path, monkeypatch):
    from badfiles import Payload
    import torch

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert_ok(pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={run}", *TINY))
    last = run / "checkpoints" / "last.pt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[:5000])
    elif damage == "malicious":
        torch.save({"state": Payload(), "step": 1}, last)
    else:
        last.write_text("not a checkpoint")
    before = last.read_bytes()
    o = pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={run}", *TINY, "optim.steps=3",
              "--resume")
    _refused_without_running(o, last, tmp_path)
    assert last.read_bytes() == before  # the evidence is not overwritten


# --- weights that load but compute garbage -------------------------------------------------------

@pytest.mark.parametrize("model", ["dncnn", "smnet-s"])
def test_weights_that_output_nan_are_reported_per_image(model, tmp_path):
    """Broken weights (NaN) give NaN outputs: each image is refused by name, nothing garbage is written."""
    import torch
    from safetensors.torch import load_file, save_file

    from pngan.models.shipped import default_weights
    from pngan.models.weights import read_metadata

    sd = load_file(default_weights(model))
    first = next(iter(sd))
    sd[first] = torch.full_like(sd[first], float("nan"))
    w = tmp_path / "nan.safetensors"
    save_file(sd, str(w), metadata={"pngan": json.dumps(read_metadata(default_weights(model)))})
    d, out = _flat(tmp_path / "in"), tmp_path / "out"
    if model == "dncnn":
        o = pngan("denoise", "--method", "dncnn", "--weights", w, "--input_dir", d, "--result_dir", out)
    else:
        o = pngan("generate", "--weights", w, "--input_dir", d, "--result_dir", out)
    assert_refused(o, "img0.png: ", "img1.png: ", "NaN", "2 of 2 images failed")
    assert not any(out.glob("*.png"))
