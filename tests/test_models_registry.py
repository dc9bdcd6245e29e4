"""Registry: every required name builds and takes any H x W."""

from __future__ import annotations

import pytest
import torch

from pngan.errors import ModelError
from pngan.models import build, names

pytestmark = pytest.mark.slow

REQUIRED = {"smnet", "smnet-s", "discriminator", "mirnet", "ridnet", "dncnn"}
SMALL = {"mirnet": {"n_feat": 8, "n_RRG": 1}, "smnet": {"n_feat": 8, "n_rrg": 1, "n_msrb": 1}}


def test_required_names_registered():
    assert REQUIRED <= set(names())


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("hw", [(32, 32), (37, 45), (5, 3)])
def test_any_size_in_same_size_out(name, hw, seeded):
    net = build(name, **SMALL.get(name, {})).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, *hw))
    channels = 1 if name == "discriminator" else 3
    assert y.shape == (2, channels, *hw)
    assert torch.isfinite(y).all()


def test_unknown_name_and_key():
    with pytest.raises(ModelError, match="unknown model 'unet'; choose one of: .*dncnn"):
        build("unet")
    with pytest.raises(ModelError, match="unknown config key.*feature"):
        build("dncnn", feature=3)
