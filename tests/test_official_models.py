"""MIRNet / RIDNet must keep the official PNGAN state-dict layout and numerics.

Where the pinned key names come from: the official definitions in GitHub repo
caiyuanhao1998/PNGAN, ``networks/MIRNet_model.py`` (``MIRNet()``, default arguments) and
``networks/RIDNet/ridnet.py`` (``RIDNET()``, the class ``test_denoiser.py`` builds for
``RIDNet_nam.pth``). The counts, sample keys/shapes and the SHA-256 fingerprints of the
sorted ``"key:shape"`` lines below were computed by instantiating those official
classes; the checkpoints ``MIRNet_sidd.pth`` / ``MIRNet_polyu.pth`` / ``RIDNet_nam.pth``
store exactly these keys under ``state_dict`` with a ``module.`` prefix.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from pngan.models import build, names, spec

pytestmark = pytest.mark.slow

# name -> (number of state-dict keys, fingerprint of sorted "key:shape" lines)
OFFICIAL_LAYOUT = {
    "mirnet": (797, "8f75e9bbcb90b79949626e65829fbb68f350106063b02a08e5bb7a540e590e34"),
    "ridnet": (104, "564c2bed70816497c4e80f9e266e24c3d64b54533d874d6b2cdc98e411f14441"),
}

OFFICIAL_SAMPLE_KEYS = {
    "mirnet": {
        "conv_in.weight": (64, 3, 3, 3),
        "body.0.body.0.blocks.0.0.body.0.weight": (64, 64, 3, 3),
        "body.0.body.0.blocks.0.1.body.1.weight": (1,),
        "body.0.body.0.blocks.2.1.SA.spatial.conv.weight": (1, 2, 5, 5),
        "body.0.body.0.blocks.1.0.CA.conv_du.0.weight": (16, 128, 1, 1),
        "body.0.body.0.down.64_4.body.1.top.4.filt": (128, 1, 3, 3),
        "body.0.body.0.down.128_2.body.0.bot.1.weight": (256, 128, 1, 1),
        "body.0.body.0.up.256_4.body.1.top.2.weight": (128, 128, 3, 3),
        "body.0.body.0.last_up.2.body.0.bot.1.weight": (128, 256, 1, 1),
        "body.0.body.0.selective_kernel.2.fcs.2.weight": (256, 32, 1, 1),
        "body.0.body.0.selective_kernel.1.conv_du.1.weight": (1,),
        "body.2.body.1.conv_out.weight": (64, 64, 3, 3),
        "body.2.body.2.weight": (64, 64, 3, 3),
        "conv_out.weight": (3, 64, 3, 3),
    },
    "ridnet": {
        "sub_mean.weight": (3, 3, 1, 1),
        "add_mean.bias": (3,),
        "head.body.0.weight": (64, 3, 3, 3),
        "b1.r1.body2.2.weight": (64, 64, 3, 3),
        "b1.r1.body3.0.weight": (64, 128, 3, 3),
        "b2.r3.body.4.weight": (64, 64, 1, 1),
        "b4.ca.c1.body.0.weight": (4, 64, 1, 1),
        "b4.ca.c2.body.0.bias": (64,),
        "tail.weight": (3, 64, 3, 3),
        "tail.bias": (3,),
    },
}


# Small configs for tests that run a forward pass (the default MIRNet is ~32M parameters).
FAST_CONFIG = {"mirnet": dict(n_feat=16, n_RRG=1, n_MSRB=1), "ridnet": dict(n_feats=16)}


def _fingerprint(sd: dict[str, torch.Tensor]) -> str:
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sorted(sd.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _official_checkpoint(model: torch.nn.Module, path) -> dict[str, torch.Tensor]:
    """Save in the official layout, reload with weights_only, strip ``module.``."""
    torch.save({"state_dict": {"module." + k: v for k, v in model.state_dict().items()},
                "epoch": 1, "optimizer": {}}, path)
    ckpt = torch.load(path, weights_only=True)
    return {k.removeprefix("module."): v for k, v in ckpt["state_dict"].items()}


@pytest.fixture(scope="module")
def default_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {name: build(name).eval() for name in OFFICIAL_LAYOUT}


@pytest.fixture(scope="module")
def fast_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {name: build(name, **cfg).eval() for name, cfg in FAST_CONFIG.items()}


def test_registered_with_official_defaults() -> None:
    assert {"mirnet", "ridnet"} <= set(names())
    assert spec("mirnet").kind == spec("ridnet").kind == "denoiser"
    assert spec("mirnet").defaults == dict(in_channels=3, out_channels=3, n_feat=64, kernel_size=3, stride=2,
                                           n_RRG=3, n_MSRB=2, height=3, width=2, bias=False)
    assert spec("ridnet").defaults["n_feats"] == 64
    assert build("mirnet", n_feat=8, n_RRG=1, n_MSRB=1).pad_multiple == 4
    assert build("mirnet", n_feat=8, n_RRG=1, n_MSRB=1, height=4).pad_multiple == 8
    assert build("ridnet", n_feats=16).pad_multiple == 1


@pytest.mark.parametrize("name", sorted(OFFICIAL_LAYOUT))
def test_default_key_layout_is_official(name: str, default_models) -> None:
    sd = default_models[name].state_dict()
    count, digest = OFFICIAL_LAYOUT[name]
    assert len(sd) == count
    for key, shape in OFFICIAL_SAMPLE_KEYS[name].items():
        assert tuple(sd[key].shape) == shape, key
    assert _fingerprint(sd) == digest


@pytest.mark.parametrize("name", sorted(OFFICIAL_LAYOUT))
def test_default_config_official_checkpoint_loads_strictly(name: str, default_models, tmp_path) -> None:
    src = default_models[name]
    torch.manual_seed(1)
    dst = build(name)
    dst.load_state_dict(_official_checkpoint(src, tmp_path / f"{name}.pth"), strict=True)
    ref, got = src.state_dict(), dst.state_dict()
    assert all(torch.equal(ref[k], got[k]) for k in ref)


def test_mirnet_msrb_reuses_one_dau_across_width(default_models) -> None:
    model = default_models["mirnet"]
    sd = model.state_dict()
    for scale in range(3):
        prefix0, prefix1 = f"body.0.body.0.blocks.{scale}.0.", f"body.0.body.0.blocks.{scale}.1."
        keys0 = [k for k in sd if k.startswith(prefix0)]
        assert keys0 and all(prefix1 + k[len(prefix0):] in sd for k in keys0)
        assert all(torch.equal(sd[k], sd[prefix1 + k[len(prefix0):]]) for k in keys0)
    msrb = model.body[0].body[0]
    assert msrb.blocks[0][0] is msrb.blocks[0][1]
    # the official DAU PReLU is one module shared by every DAU (default-argument instance)
    prelus = {id(m.body[1]) for m in model.modules() if type(m).__name__ == "DAU"}
    assert len(prelus) == 1


def test_ridnet_keeps_unused_meanshift(fast_models) -> None:
    model = fast_models["ridnet"]
    assert {"sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias"} <= set(model.state_dict())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        before = model(x)
        model.sub_mean.weight.add_(1.0)
        model.add_mean.bias.add_(1.0)
        after = model(x)
        model.sub_mean.weight.sub_(1.0)
        model.add_mean.bias.sub_(1.0)
    assert torch.equal(before, after)  # forward never uses them (as official)


@pytest.mark.parametrize("name", sorted(OFFICIAL_LAYOUT))
def test_official_checkpoint_round_trip_gives_identical_outputs(name: str, fast_models, tmp_path) -> None:
    src = fast_models[name]
    torch.manual_seed(1)
    dst = build(name, **FAST_CONFIG[name]).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.equal(dst(x), src(x))
        dst.load_state_dict(_official_checkpoint(src, tmp_path / f"{name}.pth"), strict=True)
        assert torch.equal(dst(x), src(x))


def test_forward_is_bare_official_computation_on_multiples(fast_models) -> None:
    x = torch.rand(1, 3, 32, 32)
    mir, rid = fast_models["mirnet"], fast_models["ridnet"]
    with torch.no_grad():
        assert torch.equal(mir(x), mir.conv_out(mir.body(mir.conv_in(x))) + x)
        res = rid.tail(rid.b4(rid.b3(rid.b2(rid.b1(rid.head(x))))))
        assert torch.equal(rid(x), res + x)


@pytest.mark.parametrize("name", sorted(OFFICIAL_LAYOUT))
def test_odd_sizes_keep_shape(name: str, fast_models) -> None:
    x = torch.rand(1, 3, 37, 45)
    with torch.no_grad():
        y = fast_models[name](x)
    assert y.shape == x.shape and torch.isfinite(y).all()
