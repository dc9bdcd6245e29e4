"""Pad to a multiple of the network's stride and crop back, trace-friendly."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the bottom/right of ``x`` (N,C,H,W) so H and W are multiples of ``multiple``.

    The pad amounts are computed from the tensor's shape so exported graphs keep
    dynamic height/width. Padding is zero when the size already fits.
    """
    if multiple <= 1:
        return x
    h, w = x.shape[-2], x.shape[-1]
    pad_h = (multiple - h % multiple) % multiple
    pad_w = (multiple - w % multiple) % multiple
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


def crop_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Crop ``x`` to the spatial size of ``like``."""
    return x[..., : like.shape[-2], : like.shape[-1]]
