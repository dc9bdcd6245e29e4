"""Numeric fixtures: every architecture's output at fixed numpy-filled weights and a fixed input.

The values in tests/data/fixtures/models.json were recorded once by scripts/record_fixtures.py;
MIRNet and RIDNet were checked by hand to be identical to the official PNGAN definitions at the
same weights (the file's ``checked`` field). A change to any computation (an activation, a
padding mode, a residual, a layer order) moves these numbers, while the round-trip tests in
test_official_models.py would still pass. Re-record only for a deliberate change, and say why.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models import build, names

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "fixtures" / "models.json"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pngan_record_fixtures", ROOT / "scripts" / "record_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


rf = _script()
REF = json.loads(FIXTURE.read_text())
CASES = [(m, k) for m in sorted(REF["models"]) for k in rf.SIZES]


@pytest.fixture(scope="module")
def filled() -> dict[str, nn.Module]:
    torch.manual_seed(12345)  # any seed: the fill replaces every torch-initialised value
    return {name: rf.fill_deterministic(build(name)) for name in REF["models"]}


def _summary(model: nn.Module, size: str) -> dict:
    with torch.no_grad():
        return rf.summarise(model(*rf.model_inputs(model, *rf.SIZES[size])))


def test_every_registered_architecture_has_a_fixture():
    assert sorted(REF["models"]) == names()


@pytest.mark.parametrize("name,size", CASES)
def test_output_matches_recorded_fixture(name: str, size: str, filled):
    ref = REF["models"][name]
    model = filled[name]
    assert sum(p.numel() for p in model.parameters()) == ref["parameters"]
    assert len(model.state_dict()) == ref["state_dict_keys"]
    assert list(rf.SIZES[size]) == ref["outputs"][size]["input_hw"]
    diffs = rf.compare(ref["outputs"][size], _summary(model, size))
    assert not diffs, f"{name} ({size}) no longer computes the recorded output:\n" + "\n".join(diffs)


def test_official_parameter_counts_are_the_papers():
    # MIRNet (ECCV 2020) reports 31.8M parameters, RIDNet (ICCV 2019) 1.5M
    assert round(REF["models"]["mirnet"]["parameters"] / 1e6, 1) == 31.8
    assert round(REF["models"]["ridnet"]["parameters"] / 1e6, 1) == 1.5


@pytest.mark.parametrize("name", ["dncnn", "smnet-s", "discriminator", "ridnet"])
def test_fill_does_not_depend_on_torch_init(name: str):
    torch.manual_seed(1)
    a = rf.fill_deterministic(build(name)).state_dict()
    torch.manual_seed(2)
    b = rf.fill_deterministic(build(name)).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_spectral_norm_vectors_give_the_true_norm(filled):
    d = filled["discriminator"]
    sn = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert len(sn) == 7
    for m in sn:
        assert float(torch.linalg.matrix_norm(m.weight.detach().flatten(1), 2)) == pytest.approx(1.0, abs=1e-4)


def test_dncnn_fixture_equals_a_functional_recomputation(filled):
    """DnCNN by hand: conv-ReLU, (conv-ReLU) x 6, conv, out = x - body(x) (registered default: no BN)."""
    sd = filled["dncnn"].state_dict()
    convs = sorted({k.rsplit(".", 1)[0] for k in sd}, key=lambda k: int(k.split(".")[1]))
    assert len(convs) == 8
    x = rf.fixed_input(*rf.SIZES["odd"]).double()
    h = x
    for i, c in enumerate(convs):
        h = F.conv2d(h, sd[c + ".weight"].double(), sd[c + ".bias"].double(), padding=1)
        h = F.relu(h) if i < len(convs) - 1 else h
    ref = REF["models"]["dncnn"]["outputs"]["odd"]
    assert not rf.compare(ref, rf.summarise(x - h))


def test_discriminator_fixture_equals_a_functional_recomputation(filled):
    """The U-Net discriminator by hand (its docstring): replicate-pad to a multiple of 8, conv_in,
    3 x (4x4 stride-2 conv), 3 x (bilinear x2, concat skip, 3x3 conv), refine, 1x1 conv; LeakyReLU(0.2)
    after each but the last; spectral-norm weights = W / largest singular value of W."""
    d = filled["discriminator"]
    sd = {k: v.double() for k, v in d.state_dict().items()}

    def w(name: str) -> torch.Tensor:
        key = f"{name}.parametrizations.weight.original"
        if key not in sd:
            return sd[f"{name}.weight"]
        return sd[key] / torch.linalg.matrix_norm(sd[key].flatten(1), 2)

    lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    x = rf.fixed_input(*rf.SIZES["odd"]).double()
    h = lrelu(F.conv2d(F.pad(x, (0, 5, 0, 3), mode="replicate"), w("conv_in"), sd["conv_in.bias"], padding=1))
    skips = [h]
    for i in range(3):
        h = lrelu(F.conv2d(h, w(f"down.{i}"), stride=2, padding=1))
        skips.append(h)
    skips.pop()
    for i in range(3):
        h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
        h = lrelu(F.conv2d(torch.cat([h, skips.pop()], 1), w(f"up.{i}"), padding=1))
    h = lrelu(F.conv2d(h, w("refine"), padding=1))
    y = F.conv2d(h, w("conv_out"), sd["conv_out.bias"])[..., :13, :19]
    assert not rf.compare(REF["models"]["discriminator"]["outputs"]["odd"], rf.summarise(y))


def _relu_to_leaky(model: nn.Module, first_only: bool = True) -> None:
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, child_name, nn.LeakyReLU(0.01))
                if first_only:
                    return


@pytest.mark.parametrize("name", ["ridnet", "dncnn"])
def test_a_changed_activation_fails_the_fixture(name: str):
    """The gate can fail: one ReLU turned into LeakyReLU(0.01) moves the numbers beyond the tolerance."""
    model = rf.fill_deterministic(build(name))
    ref = REF["models"][name]["outputs"]["multiple"]
    assert not rf.compare(ref, _summary(model, "multiple"))
    _relu_to_leaky(model)
    assert rf.compare(ref, _summary(model, "multiple"))


def test_a_changed_padding_fails_the_fixture(filled, monkeypatch):
    """Zero instead of replicate padding only touches the odd size: the odd fixture must see it."""
    import pngan.models.smnet as smnet

    def zero_pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
        h, w = x.shape[-2:]
        return F.pad(x, (0, -w % multiple, 0, -h % multiple))

    ref = REF["models"]["smnet-s"]["outputs"]
    monkeypatch.setattr(smnet, "pad_to_multiple", zero_pad)
    assert not rf.compare(ref["multiple"], _summary(filled["smnet-s"], "multiple"))  # no padding: same
    assert rf.compare(ref["odd"], _summary(filled["smnet-s"], "odd"))


def test_compare_tolerates_only_float_noise():
    ref = REF["models"]["ridnet"]["outputs"]["multiple"]
    noisy = json.loads(json.dumps(ref))
    noisy["samples"] = [[*s[:-1], s[-1] * (1 + 1e-6)] for s in noisy["samples"]]
    noisy["sum"] *= 1 + 1e-6
    assert not rf.compare(ref, noisy)
    noisy["samples"][3][-1] += 1e-2
    assert rf.compare(ref, noisy) and np.isfinite(noisy["sum"])
