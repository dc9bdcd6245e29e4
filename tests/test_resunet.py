"""ResUNet denoiser family: registry, any H x W, bounded activations, weights errors, portable export operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pngan.errors import CheckpointError
from pngan.models import build, load, load_model, load_weights, names, save_weights, spec

VARIANTS = ["resunet-s", "resunet-m"]
TINY = {"width": 4, "enc_blocks": [1, 1], "middle_blocks": 1, "dec_blocks": [1, 1]}

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: small work, 1 torch thread


def _trained_like(net: torch.nn.Module) -> torch.nn.Module:
    """The near-zero ending and the down-scaled second convs made non-trivial, as after training."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("ending") or name.endswith("conv2.weight"):
                p.normal_(0.0, 0.05)
    return net.eval()


def test_variants_registered_as_denoisers():
    assert set(VARIANTS) <= set(names())
    assert all(spec(v).kind == "denoiser" for v in VARIANTS)
    params = [sum(p.numel() for p in build(v).parameters()) for v in VARIANTS]
    assert params == sorted(params) and params[0] > 1_000_000


@pytest.mark.parametrize("name", VARIANTS)
def test_any_size_in_same_size_out(name):
    net = _trained_like(build(name))
    assert net.pad_multiple == 16
    for hw in [(1, 1), (3, 5), (15, 17), (16, 16), (37, 45)]:
        with torch.no_grad():
            y = net(torch.rand(1, 3, *hw))
        assert y.shape == (1, 3, *hw) and torch.isfinite(y).all(), hw


def test_starts_near_identity_and_changes_once_trained():
    x = torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        assert (build("resunet-s").eval()(x) - x).abs().max() < 0.05
        assert (_trained_like(build("resunet-s"))(x) - x).abs().max() > 0.05


def test_output_grows_linearly_not_multiplicatively():
    """ReLU blocks are positively homogeneous: scaling the input scales the learned part at most linearly
    (NAFUNet's gates square it), so an unusual whole image cannot overflow."""
    net = _trained_like(build("resunet-s", **TINY))
    for m in net.modules():  # biases off: then f(a x) = a f(x) exactly for a > 0
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            m.bias.data.zero_()
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.allclose(net(10 * x), 10 * net(x), rtol=1e-4, atol=1e-4)


def test_weights_round_trip_and_another_width(tmp_path):
    net = _trained_like(build("resunet-s", **TINY))
    p = save_weights(net, tmp_path / "r.safetensors")
    x = torch.rand(1, 3, 9, 13)
    back = load(p)
    assert back.pngan_name == "resunet-s" and back.pngan_config["width"] == 4
    with torch.no_grad():
        assert torch.equal(back(x), net(x)) and torch.equal(load_model("resunet-s", p)(x), net(x))
    with pytest.raises(CheckpointError, match="weights are for model 'resunet-s', not 'resunet-m'"):
        load_model("resunet-m", p)
    with pytest.raises(CheckpointError, match=r"do not match architecture 'resunet-m'.*shape mismatch"):
        load_weights(build("resunet-m", **{**TINY, "width": 8}), p)


def test_wrong_width_in_pngan_denoise_is_one_error_line(tmp_path):
    from pngan.cli import main
    from pngan.io.images import write_image

    w = save_weights(build("resunet-s", **TINY), tmp_path / "s.safetensors")
    write_image(tmp_path / "in" / "a.png", np.full((8, 8, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, ["denoise", "--method", "dncnn", "--weights", str(w), "--input-dir",
                                  str(tmp_path / "in"), "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "resunet-s" in errors[0] and "Traceback" not in r.output, r.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow  # exports or runs the whole demo
def test_onnx_parity_and_only_portable_operators(tmp_path):
    pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")
    import onnx

    from pngan.export import export
    from pngan.metrics import psnr_float
    from pngan.runtimes import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner

    net = _trained_like(build("resunet-s", width=8))
    folder = export(net, "onnx", tmp_path, validate=False)
    ops = {n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node}
    assert not ops & {"ConvTranspose", "LayerNormalization", "Resize", "If", "Loop", "Split", "Sigmoid"}, ops
    assert {"Conv", "Relu", "DepthToSpace", "Add"} <= ops, ops
    ref = TorchRunner(net)
    with open_artifact(folder, threads=1) as run:
        for shape in [(1, 3, 16, 16), (1, 3, 37, 21)]:
            x = np.random.default_rng(shape[2]).random(shape, dtype=np.float32)
            y = run(x)
            assert y.shape == shape and psnr_float(y, ref(x)) >= 60.0, shape


@pytest.mark.slow  # exports or runs the whole demo
def test_openvino_int8_through_pngan_export(tmp_path):
    pytest.importorskip("openvino", reason="the 'openvino' extra is not installed")
    pytest.importorskip("nncf", reason="the 'openvino' extra is not installed")
    from pngan.cli.export_cmd import main as export_main
    from pngan.runtimes import open_artifact

    torch.manual_seed(0)  # the weights _trained_like leaves alone, independent of the tests run before
    w = save_weights(_trained_like(build("resunet-s", width=8)), tmp_path / "s.safetensors")
    out = tmp_path / "out"
    r = CliRunner().invoke(export_main, ["--model", "resunet-s", "--weights", str(w), "--target", "openvino",
                                         "--precision", "int8", "--calib-samples", "4", "--opt-shape", "64", "64",
                                         "--out", str(out)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "openvino-int8" / "manifest.json").read_text())
    assert manifest["model"] == "resunet-s" and manifest["validation"]["status"] == "pass", manifest["validation"]
    with open_artifact(out / "openvino-int8", threads=1) as run:
        y = run(np.random.default_rng(0).random((1, 3, 19, 23), dtype=np.float32))
    assert y.shape == (1, 3, 19, 23) and np.isfinite(y).all()


def test_memory_estimate_is_the_top_width():
    from pngan.runtimes.autotile import BYTES_PER_CHANNEL_PIXEL, bytes_per_pixel

    assert bytes_per_pixel(build("resunet-s")) == BYTES_PER_CHANNEL_PIXEL * 16


def test_default_denoiser_on_sixteen_bit_odd_and_tiny_images(tmp_path):
    """The shipped default (no --model) on images below 2**levels, odd sizes and 16-bit gray."""
    from PIL import Image

    from pngan.cli import main

    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((7, 5), 40000, np.uint16)).save(tmp_path / "in" / "g16.png")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "in" / "dot.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (33, 19, 3), dtype=np.uint8)).save(tmp_path / "in" / "odd.png")
    r = CliRunner().invoke(main, ["denoise", "--input-dir", str(tmp_path / "in"), "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert Image.open(tmp_path / "out" / "g16.png").size == (5, 7)
    assert Image.open(tmp_path / "out" / "dot.png").size == (1, 1)
    assert Image.open(tmp_path / "out" / "odd.png").size == (19, 33)


def test_shipped_default_denoises_the_sample_and_random_weights_do_not():
    """The gate fails for wrong weights: the shipped file gains > 3 dB on the demo's noisy sample (4.8 measured),
    the same architecture with random weights gains nothing."""
    from pngan.metrics import psnr_float
    from pngan.assets.samples import noisy_sample, sample_image

    clean = sample_image("coffee")
    noisy = noisy_sample(clean, np.random.default_rng(0))
    x = torch.from_numpy(noisy).permute(2, 0, 1)[None]

    def gain(net: torch.nn.Module) -> float:
        with torch.no_grad():
            y = net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        return psnr_float(y, clean) - psnr_float(noisy, clean)

    assert gain(load_model("resunet-s", None)) > 3.0
    torch.manual_seed(0)
    assert gain(_trained_like(build("resunet-s"))) < 0.5
