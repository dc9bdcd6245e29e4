"""SMNet generator and pixel-level U-Net discriminator: shapes, size, gradients, config, ONNX export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pngan.errors import ModelError
from pngan.models import build, spec

SMNET_S_MAX_PARAMS = 100_000


def _n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_registered_kinds() -> None:
    assert spec("smnet").kind == "generator"
    assert spec("smnet-s").kind == "generator"
    assert spec("discriminator").kind == "discriminator"


@pytest.mark.parametrize("shape", [(1, 3, 37, 45), (2, 3, 16, 24), (3, 3, 5, 1)])
def test_generator_shapes_any_size(shape: tuple[int, ...]) -> None:
    m = build("smnet-s").eval()
    with torch.no_grad():
        assert m(torch.rand(*shape)).shape == shape


def test_full_smnet_odd_size() -> None:
    m = build("smnet", n_rrg=1, n_msrb=1).eval()  # full width, one block: keeps the test fast
    assert m.pad_multiple == 4
    with torch.no_grad():
        assert m(torch.rand(1, 3, 37, 45)).shape == (1, 3, 37, 45)


def test_generator_is_residual_on_input() -> None:
    m = build("smnet-s").eval()
    for p in m.conv_out.parameters():
        torch.nn.init.zeros_(p)
    x = torch.rand(2, 3, 37, 45)
    with torch.no_grad():
        assert torch.equal(m(x), x)


@pytest.mark.parametrize("shape", [(1, 3, 37, 45), (4, 3, 32, 20), (2, 3, 9, 70)])
def test_discriminator_logit_map(shape: tuple[int, ...]) -> None:
    d = build("discriminator")
    n, _, h, w = shape
    out = d(torch.rand(*shape))
    assert out.shape == (n, 1, h, w)
    assert d.pad_multiple == 8


def test_discriminator_batch_independent() -> None:
    d = build("discriminator", spectral_norm=False).eval()
    x = torch.rand(3, 3, 37, 45)
    with torch.no_grad():
        torch.testing.assert_close(d(x)[1:2], d(x[1:2]), atol=1e-5, rtol=1e-5)


def test_smnet_s_is_small() -> None:
    assert _n_params(build("smnet-s")) < SMNET_S_MAX_PARAMS
    assert _n_params(build("smnet")) > 20 * _n_params(build("smnet-s"))


@pytest.mark.parametrize("name", ["smnet-s", "discriminator"])
def test_gradients_reach_every_parameter(name: str) -> None:
    m = build(name)
    m(torch.rand(2, 3, 37, 45)).square().mean().backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


def test_config_override_changes_size() -> None:
    assert _n_params(build("smnet-s", n_feat=24)) > _n_params(build("smnet-s"))
    assert _n_params(build("discriminator", n_feat=16)) < _n_params(build("discriminator"))
    assert build("smnet-s", height=2).pad_multiple == 2


@pytest.mark.parametrize("name", ["smnet", "smnet-s", "discriminator"])
def test_unknown_config_key(name: str) -> None:
    with pytest.raises(ModelError, match="unknown config key"):
        build(name, n_feats=8)


def test_discriminator_spectral_norm_toggle() -> None:
    with_sn = [n for n, _ in build("discriminator").named_parameters() if "original" in n]
    without = [n for n, _ in build("discriminator", spectral_norm=False).named_parameters() if "original" in n]
    assert with_sn and not without


def test_smnet_s_onnx_dynamic_hw(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    m = build("smnet-s").eval()
    path = tmp_path / "smnet_s.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            m, (torch.rand(1, 3, 37, 45),), str(path), dynamo=False, opset_version=17,
            input_names=["x"], output_names=["y"],
            dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h", 3: "w"}},
        )
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 37, 45), (2, 3, 64, 50)]:
        x = torch.rand(*shape)
        with torch.no_grad():
            ref = m(x).numpy()
        out = sess.run(None, {"x": x.numpy()})[0]
        assert out.shape == shape
        assert np.abs(out - ref).max() < 1e-4
