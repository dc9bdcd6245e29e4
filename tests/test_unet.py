"""The U-Net skeleton both blind families share (pngan/models/unet.py): its config checks, through each family."""

from __future__ import annotations

import pytest

from pngan.errors import ModelError
from pngan.models import build


@pytest.mark.parametrize("name", ["nafunet-s", "resunet-s"])
@pytest.mark.parametrize("bad, msg", [({"width": 0}, "width"), ({"enc_blocks": [1, 1], "dec_blocks": [1]}, "one count"),
                                      ({"enc_blocks": []}, "non-empty"), ({"middle_blocks": -1}, "middle_blocks"),
                                      ({"enc_blocks": "12"}, "enc_blocks")])
def test_bad_config_is_one_model_error(name, bad, msg):
    with pytest.raises(ModelError, match=msg):
        build(name, **bad)


def test_nafunet_expansions_are_checked():
    with pytest.raises(ModelError, match="dw_expand"):
        build("nafunet-s", dw_expand=0)
