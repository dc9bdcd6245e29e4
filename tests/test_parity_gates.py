"""Parity gates that cannot pass a wrong artifact: identity and other-weights artifacts fail FP16 and INT8,
the real (trained) artifacts pass. A bare model file is accepted; the terminal table is compact."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

from pngan.cli import main  # noqa: E402
from pngan.export import export  # noqa: E402
from pngan.export.shapes import ShapeSpec  # noqa: E402
from pngan.models import build, save_weights  # noqa: E402
from pngan.runtimes.parity import run_parity  # noqa: E402
from pngan.runtimes.parity_data import synthetic_pairs  # noqa: E402
from pngan.runtimes.parity_rules import Thresholds  # noqa: E402

pytestmark = pytest.mark.slow

SMALL = ShapeSpec(min_hw=(8, 8), opt_hw=(64, 64), max_hw=(512, 512))
FAST = dict(sizes=(48,), latency_sizes=(32,), repeats=1, threads=1)


def train_tiny_denoiser(steps: int = 150) -> torch.nn.Module:
    """A tiny DnCNN trained for a few seconds on the shipped samples with their synthetic noise."""
    from pngan.assets.samples import SAMPLES, noisy_sample, sample_image

    torch.manual_seed(0)
    net = build("dncnn", features=8, depth=3)
    rng = np.random.default_rng(0)
    cleans = [sample_image(n) for n in SAMPLES]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(steps):
        batch = []
        for _ in range(8):
            c = cleans[int(rng.integers(len(cleans)))]
            y, x = rng.integers(0, c.shape[0] - 32), rng.integers(0, c.shape[1] - 32)
            clean = c[y:y + 32, x:x + 32]
            batch.append((noisy_sample(clean, rng), clean))
        noisy = torch.from_numpy(np.stack([b[0] for b in batch]).transpose(0, 3, 1, 2)).float()
        clean = torch.from_numpy(np.stack([b[1] for b in batch]).transpose(0, 3, 1, 2)).float()
        loss = torch.nn.functional.mse_loss(net(noisy), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


@pytest.fixture(scope="module")
def trained():
    return train_tiny_denoiser()


@pytest.fixture(scope="module")
def arts(tmp_path_factory, trained):
    """``{(kind, precision): artifact folder}`` for the trained net, an identity net and other weights,
    every manifest naming the trained weights (as a wrong export would)."""
    base = tmp_path_factory.mktemp("gates")
    real = trained
    w = save_weights(real, base / "w.safetensors")
    identity = build("dncnn", features=8, depth=3)
    last = [m for m in identity.body if isinstance(m, torch.nn.Conv2d)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)  # x - 0: returns its input
    torch.manual_seed(1)
    other = train_tiny_denoiser(steps=0)  # same architecture, other (untrained, seed 1) weights
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, net in (("real", real), ("identity", identity.eval()), ("other", other)):
            for precision in ("fp16", "int8"):
                out[(kind, precision)] = export(net, "onnx", base / kind, precision=precision, weights=w,
                                                shapes=SMALL, calib_samples=8, validate=False)
    return base, out


def test_trained_fixture_denoises(trained):
    net = trained
    from pngan.metrics import psnr
    from pngan.runtimes.torch_runner import TorchRunner

    r = TorchRunner(net)
    gains = [psnr(r(n.transpose(2, 0, 1)[None].copy())[0].transpose(1, 2, 0), c) - psnr(n, c)
             for _, n, c in synthetic_pairs(0).items]
    assert np.mean(gains) > 1.0, gains


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_identity_and_other_weights_fail_real_passes(arts, precision):
    _, folders = arts
    status = {}
    for kind in ("real", "identity", "other"):
        (e,) = run_parity(folders[(kind, precision)], **FAST).artifacts
        status[kind] = e.status
    assert status == {"real": "pass", "identity": "fail", "other": "fail"}, status


def test_identity_fails_even_with_lenient_absolute_gates(arts):
    _, folders = arts
    th = Thresholds(fp16_db=0.0, int8_delta_db=10.0)
    for precision in ("fp16", "int8"):
        (e,) = run_parity(folders[("identity", precision)], thresholds=th, **FAST).artifacts
        assert e.status == "fail", (precision, e.rule)


def test_bare_model_file_and_compact_table(arts, tmp_path):
    _, folders = arts
    bare = tmp_path / "model.onnx"
    bare.write_bytes((folders[("real", "fp16")] / "model.onnx").read_bytes())
    r = CliRunner().invoke(main, ["parity", "--artifacts", str(bare), "--sizes", "48", "--latency-sizes", "32",
                                  "--repeats", "1", "--threads", "1", "--json", str(tmp_path / "p.json"),
                                  "--markdown", str(tmp_path / "p.md")])
    rep = json.loads((tmp_path / "p.json").read_text())
    (e,) = rep["artifacts"]
    assert e["bare_model_file"] and e["precision"] == "fp16" and e["size_bytes"] == bare.stat().st_size
    # no manifest: the reference is the shipped dncnn, not the trained weights -> a wrong reference fails
    assert e["status"] == "fail" and r.exit_code == 1
    lines = r.output.splitlines()
    head = next(ln for ln in lines if ln.startswith("artifact"))
    assert "over identity" in head and "size" in head and "|" not in head
    assert any(ln.startswith("torch dncnn (reference)") and "ref" in ln for ln in lines)
    assert any(ln.startswith("[1/1] checking") for ln in lines)
    assert "| artifact | model | backend |" in (tmp_path / "p.md").read_text()


def test_bare_model_file_without_pngan_metadata(tmp_path):
    import onnx

    from pngan.errors import ArtifactError
    from pngan.runtimes.opening import bare_manifest

    g = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["input"], ["output"])], "g",
                               [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, 4, 4])],
                               [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, 4, 4])])
    onnx.save(onnx.helper.make_model(g), str(tmp_path / "m.onnx"))
    with pytest.raises(ArtifactError, match="no pngan metadata naming the model"):
        bare_manifest(tmp_path / "m.onnx")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ArtifactError, match="not a model file"):
        bare_manifest(tmp_path / "m.txt")
    from pngan.errors import PnganError
    from pngan.runtimes.artifacts import find_artifacts

    with pytest.raises(PnganError, match="not a model file"):
        find_artifacts(tmp_path / "m.txt")
    assert find_artifacts(tmp_path / "m.onnx") == [tmp_path / "m.onnx"]


def test_margin_flags_reach_the_rules(arts):
    _, folders = arts
    args = ["parity", "--artifacts", str(folders[("identity", "fp16")]), "--sizes", "48", "--latency-sizes", "32",
            "--repeats", "1", "--threads", "1"]
    assert CliRunner().invoke(main, args).exit_code == 1
    r = CliRunner().invoke(main, [*args, "--fp16-db", "0", "--margin-db", "30", "-1000", "1"])
    assert r.exit_code == 0, r.output  # only the identity margin failed it
