"""DnCNN (Zhang et al., TIP 2017): conv-ReLU, (conv-BN-ReLU) x (depth-2), conv; predicts the noise."""

from __future__ import annotations

import torch
import torch.nn as nn

from pngan.models.registry import register


class DnCNN(nn.Module):
    """Residual denoiser: ``out = x - body(x)``. Any H x W (no down-sampling)."""

    pad_multiple = 1

    def __init__(self, in_channels: int = 3, features: int = 64, depth: int = 17, batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(features, features, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(features))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(features, in_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


@register("dncnn", description="DnCNN residual denoiser (small by default, CPU-friendly)",
          in_channels=3, features=32, depth=8, batch_norm=False)
def dncnn(**cfg) -> DnCNN:
    return DnCNN(**cfg)
