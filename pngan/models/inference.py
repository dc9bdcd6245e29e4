"""The inference form of a model: what is exported and what every runner computes."""

from __future__ import annotations

import torch
import torch.nn as nn


class InferenceModel(nn.Module):
    """Wraps a registered model for deployment: RGB float32 N x 3 x H x W in [0, 1] -> same, clamped.

    The wrapped model pads to its stride and crops back itself, so any H x W works.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.eval()

    def forward(self, x: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        return self.net(x, *noise).clamp(0.0, 1.0)  # noise: for generators given it as an input (smnet-n)
