"""ExecuTorch target and runner, run for real (tiny models, small shapes); bad files and inputs give one line."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

pytestmark = pytest.mark.slow

MISSING = "the 'executorch' extra is not installed: pip install -e .[executorch]"
pytest.importorskip("executorch.runtime", reason=MISSING)

from pngan.errors import ArtifactError, BackendMissingError, PnganError  # noqa: E402
from pngan.export import export  # noqa: E402
from pngan.cli.export_cmd import main as export_main  # noqa: E402
from pngan.export.shapes import ShapeSpec  # noqa: E402
from pngan.metrics import psnr_float  # noqa: E402
from pngan.models import build  # noqa: E402
from pngan.runtimes import open_artifact  # noqa: E402
from pngan.runtimes.torch_runner import TorchRunner  # noqa: E402

SHAPES = ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32), max_hw=(256, 256))  # 256: the shipped samples run whole


@pytest.fixture(scope="module")
def arts(tmp_path_factory, export_tiny_dncnn):
    """A tiny DnCNN exported at FP32, FP16 and INT8 (shipped samples for calibration)."""
    return export_tiny_dncnn(tmp_path_factory.mktemp("et"), ("executorch",), precisions=("fp32", "fp16", "int8"),
                             shapes=SHAPES, calib_samples=4)


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def test_one_fp32_file_runs_every_size_in_its_range(arts):
    net, _, f = arts
    m = _manifest(f["fp32"])
    assert m["dynamic_dims"] == ["height", "width"] and m["size_multiple"] == 1 and m["portable_ops"] == []
    assert m["shape_range"] == {"min": [8, 8], "opt": [32, 32], "max": [256, 256]} and m["validation"]["status"] == "pass"
    assert m["versions"]["executorch"] and m["pte_format"].startswith("ET")
    ref = TorchRunner(net)
    with open_artifact(f["fp32"], threads=2) as r:
        assert r.backend == "executorch" and r.metadata["precision"] == "fp32" and r.metadata["model"] == "dncnn"
        for shape in ((1, 3, 32, 32), (2, 3, 40, 56), (1, 3, 96, 64), (1, 3, 8, 9), (1, 3, 300, 270)):
            x = np.random.default_rng(0).random(shape, dtype=np.float32)
            y = r(x)  # 300 x 270 is above the range: tiled by the runner
            assert y.shape == shape and psnr_float(ref(x), y) >= 100.0, shape


@pytest.mark.parametrize("precision,floor", [("fp16", 60.0), ("int8", 35.0)])
def test_fp16_and_int8(arts, precision, floor):
    net, _, f = arts
    m = _manifest(f[precision])
    assert m["validation"]["status"] == "pass" and m["precision"] == precision
    if precision == "int8":
        q = m["quantization"]
        assert q["input_range_pinned"] == [0.0, 1.0] and q["quantizer"] == "XNNPACKQuantizer"
        assert m["calibration"]["samples"] == 4 and m["size_bytes"] < _manifest(f["fp32"])["size_bytes"]
    x = np.random.default_rng(1).random((1, 3, 48, 40), dtype=np.float32) * 0.8 + 0.1
    with open_artifact(f[precision]) as r:
        assert psnr_float(TorchRunner(net)(x), r(x)) >= floor


def test_precision_is_read_from_the_program(arts, tmp_path):
    from pngan.runtimes.manifest import read_manifest
    from pngan.runtimes.precision import detect_precision

    _, _, f = arts
    assert [detect_precision(f[p] / "model.pte") for p in ("fp32", "fp16", "int8")] == ["fp32", "fp16", "int8"]
    lie = tmp_path / "lie"
    lie.mkdir()
    (lie / "model.pte").write_bytes((f["int8"] / "model.pte").read_bytes())
    (lie / "manifest.json").write_text(json.dumps({**_manifest(f["fp32"]), "precision": "fp32"}))
    with pytest.raises(ArtifactError, match="says precision fp32 but model.pte holds a int8 model"):
        read_manifest(lie)


@pytest.mark.parametrize("damage,message", [
    (lambda d: d[:4] + b"ET13" + d[8:], "written by another ExecuTorch version (program format ET13; the installed "
                                       "executorch"),
    (lambda d: d[: len(d) // 2], "truncated ExecuTorch program"),
    (lambda d: b"garbage!" * 64, "not an ExecuTorch program"),
])
def test_foreign_or_corrupt_program_is_one_line(arts, tmp_path, capfd, damage, message):
    _, _, f = arts
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pte").write_bytes(damage((f["fp32"] / "model.pte").read_bytes()))
    (bad / "manifest.json").write_text(json.dumps(_manifest(f["fp32"])))
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(")) as e:
        open_artifact(bad)
    assert "\n" not in str(e.value)
    assert "program.cpp" not in capfd.readouterr().err  # the runtime's own log lines are kept off stderr
    from pngan.cli import main

    img = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(img)
    r = CliRunner().invoke(main, ["denoise", "--artifact", str(bad), "--input-dir", str(img),
                                  "--result-dir", str(tmp_path / "out")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and message.split(" (")[0] in lines[0], r.output


class _Median(torch.nn.Module):
    """A user's model with an operator ExecuTorch has no kernel for."""

    pngan_name, pngan_config, pad_multiple = "dncnn", {}, 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x).median(dim=1, keepdim=True).values


def test_unsupported_operator_is_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(PnganError, match=r"ExecuTorch cannot lower the model: operator aten\.median\.dim is not "
                                         r"supported") as e:
        export(_Median().eval(), "executorch", tmp_path, shapes=SHAPES)
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []


def test_missing_extra_is_one_line(arts, tmp_path, monkeypatch):
    _, w, f = arts
    monkeypatch.setitem(sys.modules, "executorch", None)
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--weights", str(w), "--target", "executorch",
                                         "--out", str(tmp_path / "o")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and "install the 'executorch' extra" in lines[0], r.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(BackendMissingError, match="'executorch' extra"):
        open_artifact(f["fp32"])


def test_generator_pads_to_its_multiple_exactly(tmp_path):
    """SMNet-s (tiny config, down-sampling by 2): one dynamic program; odd sizes padded as the network pads."""
    torch.manual_seed(0)
    net = build("smnet-s", n_feat=4, height=2).eval()
    torch.nn.init.normal_(net.conv_out.weight, std=0.1)  # not the near-identity init
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "executorch", tmp_path, shapes=ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32), max_hw=(48, 48)),
                        validate=False)  # checked below
    m = _manifest(folder)
    assert m["size_multiple"] == 2 and m["input_sigma"] > 0 and m["shape_range"]["max"] == [48, 48]
    ref = TorchRunner(net)
    with open_artifact(folder) as r:
        for hw in ((32, 32), (33, 47), (20, 14)):
            x = np.random.default_rng(0).random((1, 3, *hw), dtype=np.float32)
            assert psnr_float(ref(x), r(x)) >= 100.0, hw


def test_parity_and_denoise_run_the_programs(arts, tmp_path):
    from PIL import Image

    from pngan.cli import main

    _, _, f = arts
    r = CliRunner().invoke(main, ["parity", "--artifacts", str(f["fp32"].parent), "--sizes", "32,24x40",
                                  "--latency-sizes", "64", "--repeats", "1", "--json", str(tmp_path / "p.json")])
    assert r.exit_code == 0, r.output
    rows = {e["name"]: e for e in json.loads((tmp_path / "p.json").read_text())["artifacts"]}
    assert [o["size"] for o in rows["executorch-fp32"]["outputs"]] == [32, 32, [24, 40], [24, 40]]
    assert {k: v["status"] for k, v in rows.items()} == {f"executorch-{p}": "pass" for p in ("fp16", "fp32", "int8")}
    assert rows["executorch-int8"]["latency"]["64"]["speedup_vs_torch"] > 0
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 41, 3), dtype=np.uint8)).save(src / "a.png")
    r = CliRunner().invoke(main, ["denoise", "--artifact", str(f["int8"]), "--input-dir", str(src),
                                  "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "dncnn (executorch int8)" in r.output and (tmp_path / "out" / "a.png").is_file()


def test_int8_falls_back_to_a_fixed_shape_when_dynamic_lowering_fails(arts, tmp_path, monkeypatch):
    """ExecuTorch 1.5 cannot lower SMNet's INT8 graph with dynamic shapes; such graphs get the opt shape."""
    import pngan.export.executorch_export as etx

    net, _, _ = arts
    real = etx.lower

    def dynamic_fails(model, sample, shapes, metadata):
        if shapes is not None:
            raise PnganError("ExecuTorch cannot lower the model: An error occurred when running the "
                             "'ChannelsLastTaggedReshapePass' pass")
        return real(model, sample, shapes, metadata)

    monkeypatch.setattr(etx, "lower", dynamic_fails)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "executorch", tmp_path, precision="int8", shapes=SHAPES, calib_samples=2)
    m = _manifest(folder)
    assert m["input_shape"] == [1, 3, 32, 32] and m["shape_range"] is None and m["dynamic_dims"] == []
    assert "ChannelsLastTaggedReshapePass" in m["dynamic_fallback"] and m["validation"]["status"] == "pass"
    with open_artifact(folder) as r:
        assert r.static_shape == (1, 32, 32)
        x = np.random.default_rng(0).random((1, 3, 50, 70), dtype=np.float32)
        assert psnr_float(r.feed(TorchRunner(net))(x), r(x)) >= 35.0
