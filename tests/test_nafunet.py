"""NAFUNet denoiser family: registry, any H x W, weights round trip and wrong-width errors, export operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.errors import CheckpointError, PnganError
from pngan.models import build, load, load_model, load_weights, names, save_weights, spec

VARIANTS = ["nafunet-s", "nafunet-m", "nafunet-l"]
TINY = {"width": 4, "enc_blocks": [1, 1], "middle_blocks": 1, "dec_blocks": [1, 1]}


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]  # conftest: small work, 1 torch thread


def _nonzero(net: torch.nn.Module) -> torch.nn.Module:
    """Trained-like weights: the zero-initialised residual scales and the near-zero ending made non-trivial."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(("beta", "gamma")) or name.startswith("ending"):
                p.normal_(0.0, 0.2)
    return net.eval()


def test_variants_registered_as_denoisers():
    assert set(VARIANTS) <= set(names())
    widths = [spec(v).defaults["width"] for v in VARIANTS]
    assert all(spec(v).kind == "denoiser" for v in VARIANTS) and widths == sorted(widths)
    params = [sum(p.numel() for p in build(v).parameters()) for v in VARIANTS]
    assert params == sorted(params)


@pytest.mark.parametrize("name", VARIANTS)
def test_any_size_in_same_size_out(name):
    net = _nonzero(build(name))
    assert net.pad_multiple == 16
    for hw in [(1, 1), (3, 5), (15, 17), (16, 16), (37, 45)]:  # smaller than 2**levels, odd, a multiple
        with torch.no_grad():
            y = net(torch.rand(2, 3, *hw))
        assert y.shape == (2, 3, *hw) and torch.isfinite(y).all(), hw


def test_starts_near_identity():
    net = build("nafunet-s").eval()
    x = torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        assert (net(x) - x).abs().max() < 0.05  # a fresh model passes the image through (global residual)


def test_weights_round_trip(tmp_path):
    net = _nonzero(build("nafunet-s", **TINY))
    p = save_weights(net, tmp_path / "n.safetensors")
    x = torch.rand(1, 3, 9, 13)
    back = load(p)
    assert back.pngan_name == "nafunet-s" and back.pngan_config["width"] == 4
    again = load_model("nafunet-s", p)
    with torch.no_grad():
        assert torch.equal(back(x), net(x)) and torch.equal(again(x), net(x))
    plain = tmp_path / "n.pth"
    torch.save(net.state_dict(), plain)
    assert torch.equal(load_weights(build("nafunet-s", **TINY).eval(), plain)(x), net(x))


def test_weights_of_another_width_are_one_clear_line(tmp_path):
    small = save_weights(build("nafunet-s"), tmp_path / "s.safetensors")
    with pytest.raises(CheckpointError, match="weights are for model 'nafunet-s', not 'nafunet-m'"):
        load_model("nafunet-m", small)
    with pytest.raises(CheckpointError, match=r"do not match architecture 'nafunet-l'.*shape mismatch"):
        load_weights(build("nafunet-l"), small)  # width 32 vs 16
    with pytest.raises(CheckpointError, match=r"do not match architecture 'nafunet-m'.*missing"):
        load_weights(build("nafunet-m"), small)  # same width, more blocks
    wide = save_weights(build("nafunet-s", width=32), tmp_path / "s32.safetensors")
    assert load_model("nafunet-s", wide).pngan_config["width"] == 32  # the file's own config is rebuilt
    with pytest.raises(CheckpointError, match=r"shape mismatch"):
        load_weights(build("nafunet-s"), wide)
    plain = tmp_path / "s.pth"
    torch.save(build("nafunet-s").state_dict(), plain)
    with pytest.raises(CheckpointError) as e:
        load_model("nafunet-l", plain)
    assert "\n" not in str(e.value) and "nafunet-l" in str(e.value)


def test_wrong_width_in_pngan_denoise_is_one_error_line(tmp_path):
    from pngan.cli import main
    from pngan.io.images import write_image

    w = save_weights(build("nafunet-s"), tmp_path / "s.safetensors")
    write_image(tmp_path / "in" / "a.png", np.full((8, 8, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, ["denoise", "--method", "nafunet-l", "--weights", str(w), "--input-dir",
                                  str(tmp_path / "in"), "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "nafunet-s" in errors[0] and "Traceback" not in r.output, r.output


def test_sixteen_bit_and_tiny_images_through_pngan_denoise(tmp_path):
    from PIL import Image

    from pngan.cli import main

    w = save_weights(_nonzero(build("nafunet-s", **TINY)), tmp_path / "t.safetensors")
    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((7, 5), 40000, np.uint16)).save(tmp_path / "in" / "g16.png")  # 16-bit gray, 7 x 5
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "in" / "dot.png")
    r = CliRunner().invoke(main, ["denoise", "--method", "nafunet-s", "--weights", str(w), "--input-dir",
                                  str(tmp_path / "in"), "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert Image.open(tmp_path / "out" / "g16.png").size == (5, 7)
    assert Image.open(tmp_path / "out" / "dot.png").size == (1, 1)


def test_onnx_parity_and_only_portable_operators(tmp_path):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    import onnx

    from pngan.export import export
    from pngan.metrics import psnr_float
    from pngan.runtimes import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner

    net = _nonzero(build("nafunet-s", width=8, enc_blocks=[1, 1, 1, 1], middle_blocks=1, dec_blocks=[1, 1, 1, 1]))
    folder = export(net, "onnx", tmp_path, validate=False)
    ops = {n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node}
    assert not ops & {"ConvTranspose", "LayerNormalization", "Resize", "If", "Loop", "Split", "Sigmoid"}, ops
    assert {"Conv", "Mul", "DepthToSpace"} <= ops, ops
    ref = TorchRunner(net)
    with open_artifact(folder, threads=1) as run:
        for shape in [(1, 3, 16, 16), (1, 3, 37, 21)]:
            x = np.random.default_rng(shape[2]).random(shape, dtype=np.float32)
            y = run(x)
            assert y.shape == shape and psnr_float(y, ref(x)) >= 60.0, shape


def test_openvino_int8_through_pngan_export(tmp_path):
    pytest.importorskip("openvino", reason="the 'openvino' extra is not installed")
    pytest.importorskip("nncf", reason="the 'openvino' extra is not installed")
    from pngan.cli.export_cmd import main as export_main
    from pngan.runtimes import open_artifact

    torch.manual_seed(0)
    w = save_weights(_nonzero(build("nafunet-s")), tmp_path / "s.safetensors")
    out = tmp_path / "out"
    r = CliRunner().invoke(export_main, ["--model", "nafunet-s", "--weights", str(w), "--target", "openvino",
                                         "--precision", "int8", "--calib-samples", "4", "--opt-shape", "64", "64",
                                         "--out", str(out)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "openvino-int8" / "manifest.json").read_text())
    assert manifest["model"] == "nafunet-s" and manifest["validation"]["status"] == "pass", manifest["validation"]
    with open_artifact(out / "openvino-int8", threads=1) as run:
        y = run(np.random.default_rng(0).random((1, 3, 19, 23), dtype=np.float32))  # odd size, below 2**levels
    assert y.shape == (1, 3, 19, 23) and np.isfinite(y).all()


def test_unknown_name_suggests_a_variant():
    with pytest.raises(PnganError, match="did you mean 'nafunet-s'"):
        build("nafunet_ss")


def test_bench_counts_conv_macs():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_denoisers.py"
    spec_ = importlib.util.spec_from_file_location("bench_denoisers", path)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    assert mod.conv_macs(build("dncnn"), 32) == 32 * 32 * (3 * 32 * 9 + 6 * 32 * 32 * 9 + 32 * 3 * 9)
    tiny = build("nafunet-s", width=4, enc_blocks=[0], middle_blocks=0, dec_blocks=[0])
    # intro 3x3 (3->4) + ending 3x3 (4->3) at 32x32, down 2x2 (4->8) and up 1x1 (8->16) at 16x16
    assert mod.conv_macs(tiny, 32) == 32 * 32 * (3 * 4 * 9 * 2) + 16 * 16 * (8 * 4 * 4 + 16 * 8)


def test_memory_estimate_is_resolution_weighted():
    from pngan.runtimes.autotile import BYTES_PER_CHANNEL_PIXEL, bytes_per_pixel

    net = build("nafunet-s")
    assert bytes_per_pixel(net) == BYTES_PER_CHANNEL_PIXEL * 16  # not the 512-channel up-conv at 1/16 size
    assert bytes_per_pixel(build("dncnn")) == BYTES_PER_CHANNEL_PIXEL * 32
