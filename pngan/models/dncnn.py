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
        self._init_weights()

    def _init_weights(self) -> None:
        """He init for the ReLU stack and a small last layer, so training starts near identity but not stuck."""
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
        for conv in convs[:-1]:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
        nn.init.normal_(convs[-1].weight, std=1e-3)
        nn.init.zeros_(convs[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


@register("dncnn", description="DnCNN residual denoiser (small by default, CPU-friendly)",
          in_channels=3, features=32, depth=8, batch_norm=False)
def dncnn(**cfg) -> DnCNN:
    return DnCNN(**cfg)
