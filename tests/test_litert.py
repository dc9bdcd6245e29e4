"""LiteRT target and runner, run for real (tiny models, small signatures); bad files and sizes give one line."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

pytestmark = pytest.mark.slow

MISSING = "the 'litert' extra is not installed: pip install -e .[litert]"
pytest.importorskip("litert_torch", reason=MISSING)
pytest.importorskip("ai_edge_litert.interpreter", reason=MISSING)

from pngan.errors import ArtifactError, BackendMissingError, PnganError  # noqa: E402
from pngan.export import export  # noqa: E402
from pngan.cli.export_cmd import main as export_main  # noqa: E402
from pngan.export.shapes import ShapeSpec  # noqa: E402
from pngan.metrics import psnr_float  # noqa: E402
from pngan.models import build  # noqa: E402
from pngan.runtimes import InputError, open_artifact  # noqa: E402
from pngan.runtimes.torch_runner import TorchRunner  # noqa: E402

SHAPES = ShapeSpec(opt_hw=(32, 32), sizes=((32, 32), (48, 64), (256, 256)))  # 256: the shipped samples


@pytest.fixture(scope="module")
def arts(tmp_path_factory, export_tiny_dncnn):
    """A tiny DnCNN exported at FP32, FP16 and INT8 with two signatures (shipped samples for calibration)."""
    return export_tiny_dncnn(tmp_path_factory.mktemp("lt"), ("litert",), precisions=("fp32", "fp16", "int8"),
                             shapes=SHAPES, calib_samples=4)


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def test_signatures_padding_and_tiling(arts):
    net, _, f = arts
    m = _manifest(f["fp32"])
    assert [s["input_shape"] for s in m["signatures"]] == [[1, 3, 32, 32], [1, 3, 48, 64], [1, 3, 256, 256]]
    assert "shape_range" not in m and "edge-padded" in m["fit"] and "CONV_2D" in m["ops"]
    assert m["validation"]["status"] == "pass" and m["versions"]["litert-torch"]
    ref = TorchRunner(net)
    with open_artifact(f["fp32"], threads=2) as r:
        assert r.backend == "litert" and r.sizes == [(32, 32), (48, 64), (256, 256)] and r.tiles_itself
        for shape, whole_db in (((2, 3, 32, 32), 100), ((1, 3, 48, 64), 100), ((1, 3, 20, 28), 40),
                                ((1, 3, 40, 50), 40), ((1, 3, 300, 270), 100)):
            x = np.random.default_rng(0).random(shape, dtype=np.float32)
            y = r(x)
            assert y.shape == shape
            assert psnr_float(r.feed(ref)(x), y) >= 100.0, shape  # torch fed the same way: the engine's error
            assert psnr_float(ref(x), y) >= whole_db, shape  # padded borders differ from a whole-image run
        assert r.tile_for(40, 50) == (48, 64) and r.tile_for(100, 90) == (256, 256) and r.tile_for(32, 32) is None
        assert r.tile_for(300, 270) == (256, 256)


def test_exact_fit_refuses_other_sizes_in_one_line(arts):
    _, _, f = arts
    with open_artifact(f["fp32"], fit="exact") as r:
        r(np.zeros((1, 3, 32, 32), np.float32))
        with pytest.raises(InputError, match=r"50x40 \(WxH\) matches none of model.tflite's signatures "
                                             r"\(32x32, 64x48, 256x256\); re-export with --litert-sizes 40x50"):
            r(np.zeros((1, 3, 40, 50), np.float32))
    with pytest.raises(PnganError, match="unknown LiteRT fit"):
        open_artifact(f["fp32"], fit="stretch")


@pytest.mark.parametrize("precision,floor", [("fp16", 60.0), ("int8", 35.0)])
def test_fp16_and_int8(arts, precision, floor):
    from pngan.runtimes.precision import detect_precision

    net, _, f = arts
    m = _manifest(f[precision])
    assert m["validation"]["status"] == "pass" and detect_precision(f[precision] / "model.tflite") == precision
    if precision == "int8":
        assert m["quantization"]["input_range_pinned"] == [0.0, 1.0] and "QUANTIZE" in m["ops"]
    if precision == "fp16":  # INT8's q/dq ops per signature outweigh this tiny model's weights
        assert m["size_bytes"] < _manifest(f["fp32"])["size_bytes"]
    x = np.random.default_rng(1).random((1, 3, 48, 64), dtype=np.float32) * 0.8 + 0.1
    with open_artifact(f[precision]) as r:
        assert psnr_float(TorchRunner(net)(x), r(x)) >= floor


def test_corrupt_file_is_one_line(arts, tmp_path):
    from pngan.cli import main

    _, _, f = arts
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.tflite").write_bytes(b"not a flatbuffer" * 32)
    (bad / "manifest.json").write_text(json.dumps(_manifest(f["fp32"])))
    with pytest.raises(ArtifactError, match="LiteRT cannot load the model") as e:
        open_artifact(bad)
    assert "\n" not in str(e.value)
    r = CliRunner().invoke(main, ["parity", "--artifacts", str(bad), "--sizes", "32", "--latency-sizes", "32",
                                  "--repeats", "1"])
    assert r.exit_code == 1 and r.output.strip().splitlines()[-1].startswith("error: parity failed"), r.output
    assert "LiteRT cannot load the model" in r.output


class _Median(torch.nn.Module):
    """A user's model with an operator LiteRT has no lowering for."""

    pngan_name, pngan_config, pad_multiple = "dncnn", {}, 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x).median(dim=1, keepdim=True).values


def test_unsupported_operator_is_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(PnganError, match=r"LiteRT cannot convert the model: operator aten\.median\.dim is not "
                                         r"supported") as e:
        export(_Median().eval(), "litert", tmp_path, shapes=ShapeSpec(sizes=((16, 16),)))
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []


def test_missing_extra_and_bad_sizes_are_one_line(arts, tmp_path, monkeypatch):
    _, w, f = arts
    base = ["--model", "dncnn", "--weights", str(w), "--out", str(tmp_path / "o")]
    for args, message in ((["--target", "litert", "--litert-sizes", "32x"], "sizes must be HxW"),
                          (["--target", "onnx", "--litert-sizes", "32x32"], "--litert-sizes applies to")):
        r = CliRunner().invoke(export_main, base + args)
        assert r.exit_code == 1 and r.output.strip().splitlines() == [r.output.strip()] and message in r.output
    monkeypatch.setitem(sys.modules, "litert_torch", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    r = CliRunner().invoke(export_main, base + ["--target", "litert"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and "install the 'litert' extra" in lines[0], r.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(BackendMissingError, match="'litert' extra"):
        open_artifact(f["fp32"])


def test_parity_and_denoise_run_the_file(arts, tmp_path):
    from PIL import Image

    from pngan.cli import main

    _, _, f = arts
    r = CliRunner().invoke(main, ["parity", "--artifacts", str(f["fp32"].parent), "--sizes", "32",
                                  "--latency-sizes", "64", "--repeats", "1", "--json", str(tmp_path / "p.json")])
    assert r.exit_code == 0, r.output
    rows = {e["name"]: e["status"] for e in json.loads((tmp_path / "p.json").read_text())["artifacts"]}
    assert rows == {f"litert-{p}": "pass" for p in ("fp16", "fp32", "int8")}
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (70, 41, 3), dtype=np.uint8)).save(src / "a.png")
    r = CliRunner().invoke(main, ["denoise", "--artifact", str(f["fp32"]), "--input-dir", str(src),
                                  "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "dncnn (litert fp32)" in r.output and (tmp_path / "out" / "a.png").is_file()


def test_generator_converts_through_the_subpixel_rewrite(tmp_path):
    """SMNet-s's stride-2 transposed convolutions do not legalize in LiteRT; the rewritten form does, exactly."""
    torch.manual_seed(0)
    net = build("smnet-s", n_feat=4, height=2).eval()
    torch.nn.init.normal_(net.conv_out.weight, std=0.1)  # not the near-identity init
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "litert", tmp_path, shapes=ShapeSpec(sizes=((32, 32),)), validate=False)  # checked below
    m = _manifest(folder)
    assert m["rewrites"] == {"subpixel_upsampling": 2} and m["input_sigma"] > 0
    assert "TRANSPOSE_CONV" not in m["ops"] and m["tiling"]["align"] == 2
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    with open_artifact(folder) as r:
        assert psnr_float(TorchRunner(net)(x), r(x)) >= 100.0  # against the original, not the rewritten model


def test_int8_io_is_quantized_and_dequantized_by_the_runner():
    from pngan.runtimes.litert_runner import dequantize_io, quantize_io

    detail = {"dtype": np.int8, "quantization": (1 / 255, -128)}
    x = (np.arange(256, dtype=np.float32) / 255).reshape(1, 1, 16, 16)
    q = quantize_io(x, detail)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    assert np.abs(dequantize_io(q, detail) - x).max() < 1e-6  # exact for 8-bit images
    assert quantize_io(x, {"dtype": np.float32}) is x


def test_parity_keeps_torch_fed_as_the_signatures_apart_from_whole_runs(arts):
    """Parity's torch cache: a padded/tiled LiteRT feed must not reuse torch's whole-image output of the same input
    (a dynamic artifact of the same weights checked first left that in the cache: LiteRT FP32 then read 40 dB)."""
    from pngan.runtimes.parity_check import References

    _, weights, f = arts
    refs = References(threads=2)
    key, _ = refs.get(_manifest(f["fp32"]))
    with open_artifact(f["fp32"], threads=2) as r:
        for shape in ((1, 3, 20, 28), (1, 3, 300, 270)):
            x = np.random.default_rng(1).random(shape, dtype=np.float32)
            whole = refs.output(key, None, x)  # what a dynamic artifact's check caches first
            fed = refs.output(key, r, x)
            assert r.feed_plan(x.shape) is not None
            assert np.array_equal(fed, r.feed(refs.runners[key])(x)), shape
            assert psnr_float(fed, r(x)) >= 100.0 and not np.array_equal(fed, whole), shape
