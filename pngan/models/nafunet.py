"""NAFUNet: a mobile-class blind denoiser, a NAFNet-style U-Net (Chen et al., "Simple Baselines for
Image Restoration", ECCV 2022) with PMRID's deployment rules (Wang et al., ECCV 2020).

    x ─ pad to 2**levels ─ intro 3x3 ─┬─ blocks ─ down ─┬─ blocks ─ down ─ ... ─ middle blocks
                                      │ (skip)          │ (skip)                     │
    out = x + crop(ending 3x3 ─ blocks ─ (up + skip) ─ ... ─ blocks ─ (up + skip) ───┘)

    down  = 2x2 conv, stride 2 (channels x2)
    up    = 1x1 conv (channels x2) + PixelShuffle(2) (channels /2 overall)
    block = x + beta  * conv1x1(SCA(SimpleGate(dwconv3x3(conv1x1(x)))))       (spatial mixing)
          + gamma * conv1x1(SimpleGate(conv1x1(.)))                             (channel mixing)
    SimpleGate(x) = x[:C/2] * x[C/2:]        SCA(x) = x * conv1x1(mean_HW(x))

No nonlinear activation anywhere (the gates are the nonlinearity) and, unlike NAFNet, no
LayerNorm: a per-pixel channel normalisation quantizes badly to INT8 and is missing or slow on
some NPUs. Training stability comes instead from per-channel residual scales ``beta``/``gamma``
initialised to zero (every block starts as the identity, as in ReZero); at export they are
constant Muls that the runtimes fold into the neighbouring 1x1 convs. Operators: Conv (dense,
depthwise, strided), Mul, Add, ReduceMean/GlobalAveragePool, Split, DepthToSpace, Pad and Slice
for the any-size wrapper; no ConvTranspose, no data-dependent control flow.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from pngan.models.registry import register
from pngan.models.unet import UNet, positive_int


class SimpleGate(nn.Module):
    """Split the channels in two halves and multiply them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class SCA(nn.Module):
    """Simplified channel attention: ``x * conv1x1(global mean of x)`` (no sigmoid, no squeeze)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv(x.mean(dim=(2, 3), keepdim=True))


class NAFBlock(nn.Module):
    """Spatial mixing (1x1, depthwise 3x3, gate, SCA, 1x1) then channel mixing (1x1, gate, 1x1), each residual.

    Each gate multiplies two branches computed by their own convolutions (NAFNet computes both with
    one conv and splits the channels: the same function, but a channel Split runs as a slow
    reference kernel on OpenVINO's INT8 path).
    """

    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw, ffn = c * dw_expand // 2, c * ffn_expand // 2
        self.conv1a, self.conv1b = nn.Conv2d(c, dw, 1), nn.Conv2d(c, dw, 1)
        self.dwa = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.dwb = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.sca = SCA(dw)
        self.conv3 = nn.Conv2d(dw, c, 1)
        self.conv4a, self.conv4b = nn.Conv2d(c, ffn, 1), nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.sca(self.dwa(self.conv1a(x)) * self.dwb(self.conv1b(x))))
        x = x + self.beta * y
        return x + self.gamma * self.conv5(self.conv4a(x) * self.conv4b(x))


def _stack(c: int, n: int, dw_expand: int, ffn_expand: int) -> nn.Sequential:
    return nn.Sequential(*[NAFBlock(c, dw_expand, ffn_expand) for _ in range(n)])


class NAFUNet(UNet):
    """The U-Net skeleton (:class:`pngan.models.unet.UNet`) with NAFBlocks; ``dw_expand``/``ffn_expand``
    widen the blocks' spatial and channel-mixing branches."""

    def __init__(self, in_channels: int = 3, width: int = 16, enc_blocks: Sequence[int] = (1, 1, 1, 2),
                 middle_blocks: int = 2, dec_blocks: Sequence[int] = (1, 1, 1, 1), dw_expand: int = 2,
                 ffn_expand: int = 2) -> None:
        dw_expand, ffn_expand = positive_int(dw_expand, "dw_expand"), positive_int(ffn_expand, "ffn_expand")
        super().__init__(in_channels, width, enc_blocks, middle_blocks, dec_blocks,
                         lambda c, n: _stack(c, n, dw_expand, ffn_expand))
        # the blocks' widest conv at full resolution (the 512-channel up-conv at 1/16 size would overstate it 32x)
        self.widest_per_pixel = self.widest_per_pixel * max(1, dw_expand // 2, ffn_expand // 2)


# Widths are multiples of 16: INT8 kernels (AMX/VNNI, NPUs) block channels by 16; width 24 ran as slow as 32.
# Blocks at 1/8 and 1/16 resolution cost parameters but little latency, full-resolution ones the most.
_COMMON = dict(in_channels=3, dw_expand=2, ffn_expand=2)


@register("nafunet-s", description="NAFNet-style U-Net denoiser, small",
          width=16, enc_blocks=(1, 1, 1, 2), middle_blocks=2, dec_blocks=(1, 1, 1, 1), **_COMMON)
def nafunet_s(**cfg) -> NAFUNet:
    return NAFUNet(**cfg)


@register("nafunet-m", description="NAFNet-style U-Net denoiser, medium (deeper low-resolution levels)",
          width=16, enc_blocks=(1, 1, 2, 4), middle_blocks=4, dec_blocks=(1, 1, 1, 1), **_COMMON)
def nafunet_m(**cfg) -> NAFUNet:
    return NAFUNet(**cfg)


@register("nafunet-l", description="NAFNet-style U-Net denoiser, large (quality)",
          width=32, enc_blocks=(1, 1, 2, 4), middle_blocks=4, dec_blocks=(1, 1, 1, 1), **_COMMON)
def nafunet_l(**cfg) -> NAFUNet:
    return NAFUNet(**cfg)
