"""ResUNet: a plain 4-level U-Net of residual ReLU blocks, the quantization-friendly blind denoiser.

    x ─ pad to 2**levels ─ intro 3x3 ─┬─ res blocks ─ down ─┬─ ... ─ middle res blocks
                                      │ (skip)              │ (skip)         │
    out = x + crop(ending 3x3 ─ res blocks ─ (up + skip) ─ ... ─ (up + skip) ┘)

    res block = x + conv3x3(ReLU(conv3x3(x)))
    down      = 2x2 conv, stride 2 (channels x2)
    up        = 1x1 conv (channels x2) + PixelShuffle(2) (channels /2 overall)

The design follows PMRID (Wang et al., "Practical Deep Raw Image Denoising on Mobile Devices",
ECCV 2020) in spirit: dense 3x3 convolutions with ReLU, which every runtime and NPU runs well and
which quantize to INT8 per channel with little loss, channels doubled each time the resolution
halves, so every level costs about the same MACs per input pixel (``2 * 9 * width**2`` per block)
while the receptive field grows to the whole 16x-downsampled image. Compared with NAFUNet it has no
multiplicative gates, so activations stay bounded by the weights on inputs unlike the training
crops (NAFUNet without LayerNorm overflowed on one whole validation image). Operators: Conv,
Relu, Add, DepthToSpace, and Pad/Slice for the any-size wrapper.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from pngan.models.registry import register
from pngan.models.unet import UNet


class ResBlock(nn.Module):
    """``x + conv3x3(ReLU(conv3x3(x)))``; the second conv starts at a tenth of its default scale."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        with torch.no_grad():
            self.conv2.weight.mul_(0.1)
            self.conv2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x)))


def _stack(c: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(c) for _ in range(n)])


class ResUNet(UNet):
    """The U-Net skeleton (:class:`pngan.models.unet.UNet`) with residual ReLU blocks."""

    def __init__(self, in_channels: int = 3, width: int = 16, enc_blocks: Sequence[int] = (1, 1, 1, 1),
                 middle_blocks: int = 2, dec_blocks: Sequence[int] = (1, 1, 1, 1)) -> None:
        super().__init__(in_channels, width, enc_blocks, middle_blocks, dec_blocks, _stack)


@register("resunet-s", description="residual ReLU U-Net denoiser, small (the shipped blind default)",
          in_channels=3, width=16, enc_blocks=(1, 1, 1, 1), middle_blocks=2, dec_blocks=(1, 1, 1, 1))
def resunet_s(**cfg) -> ResUNet:
    return ResUNet(**cfg)


@register("resunet-m", description="residual ReLU U-Net denoiser, medium (twice the width of resunet-s)",
          in_channels=3, width=32, enc_blocks=(1, 1, 1, 1), middle_blocks=2, dec_blocks=(1, 1, 1, 1))
def resunet_m(**cfg) -> ResUNet:
    return ResUNet(**cfg)
