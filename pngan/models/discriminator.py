"""Pixel-level U-Net discriminator (PNGAN noise-domain alignment): one realness logit per pixel.

    x -> conv_in -> [strided conv (x2 channels, /2 size)] x depth          (encoder)
      -> [bilinear x2 -> concat skip -> conv] x depth                      (decoder)
      -> conv -> 1x1 conv -> N x 1 x H x W raw logits (no sigmoid)

LeakyReLU(0.2) throughout; spectral norm on every conv except ``conv_in`` and the final 1x1.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register


class UNetDiscriminator(nn.Module):
    """Fully convolutional U-Net; any H x W (padded to ``2**depth``, logits cropped back)."""

    def __init__(self, in_channels: int = 3, n_feat: int = 64, depth: int = 3, spectral_norm: bool = True) -> None:
        super().__init__()
        self.pad_multiple = 2 ** depth

        def sn(m: nn.Conv2d) -> nn.Module:
            return nn.utils.parametrizations.spectral_norm(m) if spectral_norm else m

        chans = [n_feat * 2 ** i for i in range(depth + 1)]
        self.conv_in = nn.Conv2d(in_channels, chans[0], 3, padding=1)
        self.down = nn.ModuleList([
            sn(nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1, bias=False)) for i in range(depth)])
        self.up = nn.ModuleList([
            sn(nn.Conv2d(chans[i + 1] + chans[i], chans[i], 3, padding=1, bias=False)) for i in reversed(range(depth))])
        self.refine = sn(nn.Conv2d(chans[0], chans[0], 3, padding=1, bias=False))
        self.conv_out = nn.Conv2d(chans[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv_in(pad_to_multiple(x, self.pad_multiple)), 0.2)
        skips = [h]
        for down in self.down:
            h = F.leaky_relu(down(h), 0.2)
            skips.append(h)
        skips.pop()  # the bottleneck is ``h`` itself
        for up in self.up:
            h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
            h = F.leaky_relu(up(torch.cat([h, skips.pop()], dim=1)), 0.2)
        h = F.leaky_relu(self.refine(h), 0.2)
        return crop_to(self.conv_out(h), x)


@register("discriminator", kind="discriminator", description="Pixel-level U-Net discriminator (per-pixel logits)",
          in_channels=3, n_feat=32, depth=3, spectral_norm=True)
def discriminator(**cfg) -> UNetDiscriminator:
    return UNetDiscriminator(**cfg)
