"""MIRNet (Zamir et al., "Learning Enriched Features for Real Image Restoration", ECCV 2020).

Re-implementation of the definition PNGAN ships (``networks/MIRNet_model.py`` in
caiyuanhao1998/PNGAN). Attribute names, layer order and numerics follow it exactly, so
the official ``MIRNet_sidd.pth`` / ``MIRNet_polyu.pth`` checkpoints load with ``strict=True``.
Two quirks of the official code are kept on purpose:

* each MSRB row lists ONE dual-attention unit ``width`` times (``blocks.<scale>.0`` and
  ``blocks.<scale>.1`` are the same module, so the checkpoint holds identical tensors);
* the PReLU inside every DAU body is a single shared module (a default argument in the
  official code); here one PReLU is shared by all DAUs of a model.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register


class BlurDownsample(nn.Module):
    """Anti-aliased stride-2 down-sampling: reflect pad 1, fixed 3x3 binomial blur (buffer ``filt``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        a = torch.tensor([1.0, 2.0, 1.0])
        filt = a[:, None] * a[None, :]
        self.channels = channels
        self.register_buffer("filt", (filt / filt.sum())[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt, stride=2, groups=self.channels)


class SKFF(nn.Module):
    """Selective kernel feature fusion (paper Fig. 3): softmax attention over ``height`` streams."""

    def __init__(self, in_channels: int, height: int = 3, reduction: int = 8, bias: bool = False) -> None:
        super().__init__()
        d = max(int(in_channels / reduction), 4)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(nn.Conv2d(in_channels, d, 1, padding=0, bias=bias), nn.PReLU())
        self.fcs = nn.ModuleList([nn.Conv2d(d, in_channels, 1, stride=1, bias=bias) for _ in range(height)])

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        stacked = torch.stack(feats, dim=1)  # (N, height, C, H, W), same layout as official cat+view
        z = self.conv_du(self.avg_pool(torch.sum(stacked, dim=1)))
        att = torch.softmax(torch.stack([fc(z) for fc in self.fcs], dim=1), dim=1)
        return torch.sum(stacked * att, dim=1)


class _ConvOnly(nn.Module):
    """Bare conv wrapper (keeps the official ``spatial.conv`` key path)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialAttention(nn.Module):
    """Spatial attention (Fig. 4): [max, mean] over channels -> 5x5 conv -> sigmoid gate."""

    def __init__(self, kernel_size: int = 5) -> None:
        super().__init__()
        self.spatial = _ConvOnly(nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((torch.max(x, 1, keepdim=True)[0], torch.mean(x, 1, keepdim=True)), dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class ChannelAttention(nn.Module):
    """Channel attention (Fig. 4): squeeze-excitation gate."""

    def __init__(self, channels: int, reduction: int = 8, bias: bool = True) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1, padding=0, bias=bias), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1, padding=0, bias=bias), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(self.avg_pool(x))


class DAU(nn.Module):
    """Dual attention unit (Fig. 4): conv-act-conv, spatial + channel attention, 1x1 fuse, residual."""

    def __init__(self, n_feat: int, kernel_size: int = 3, reduction: int = 8, bias: bool = False,
                 act: nn.Module | None = None) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(n_feat, n_feat, kernel_size, padding=pad, bias=bias),
            act if act is not None else nn.PReLU(),
            nn.Conv2d(n_feat, n_feat, kernel_size, padding=pad, bias=bias),
        )
        self.SA = SpatialAttention()
        self.CA = ChannelAttention(n_feat, reduction, bias=bias)
        self.conv1x1 = nn.Conv2d(n_feat * 2, n_feat, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        return self.conv1x1(torch.cat([self.SA(res), self.CA(res)], dim=1)) + x


class ResidualDownSample(nn.Module):
    """Residual resizing module, down (Fig. 5a): halves H, W and doubles channels."""

    def __init__(self, in_channels: int, bias: bool = False) -> None:
        super().__init__()
        c = in_channels
        self.top = nn.Sequential(
            nn.Conv2d(c, c, 1, stride=1, padding=0, bias=bias), nn.PReLU(),
            nn.Conv2d(c, c, 3, stride=1, padding=1, bias=bias), nn.PReLU(),
            BlurDownsample(c), nn.Conv2d(c, c * 2, 1, stride=1, padding=0, bias=bias),
        )
        self.bot = nn.Sequential(BlurDownsample(c), nn.Conv2d(c, c * 2, 1, stride=1, padding=0, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(x) + self.bot(x)


class ResidualUpSample(nn.Module):
    """Residual resizing module, up (Fig. 5b): doubles H, W and halves channels."""

    def __init__(self, in_channels: int, bias: bool = False) -> None:
        super().__init__()
        c = in_channels
        self.top = nn.Sequential(
            nn.Conv2d(c, c, 1, stride=1, padding=0, bias=bias), nn.PReLU(),
            nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1, bias=bias), nn.PReLU(),
            nn.Conv2d(c, c // 2, 1, stride=1, padding=0, bias=bias),
        )
        self.bot = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=bias),  # official ties align_corners to bias
            nn.Conv2d(c, c // 2, 1, stride=1, padding=0, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(x) + self.bot(x)


class DownSample(nn.Module):
    """log2(scale) chained residual down-samplings (key path ``body.<i>``)."""

    def __init__(self, in_channels: int, scale_factor: int, stride: int = 2) -> None:
        super().__init__()
        steps = []
        for _ in range(int(math.log2(scale_factor))):
            steps.append(ResidualDownSample(in_channels))
            in_channels = int(in_channels * stride)
        self.body = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpSample(nn.Module):
    """log2(scale) chained residual up-samplings (key path ``body.<i>``)."""

    def __init__(self, in_channels: int, scale_factor: int, stride: int = 2) -> None:
        super().__init__()
        steps = []
        for _ in range(int(math.log2(scale_factor))):
            steps.append(ResidualUpSample(in_channels))
            in_channels = int(in_channels // stride)
        self.body = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MSRB(nn.Module):
    """Multi-scale residual block (Fig. 2): ``height`` parallel streams, DAUs, SKFF exchange, residual.

    Module keys follow the official layout: ``down`` / ``up`` hold resamplers keyed
    ``"<in_channels>_<scale>"``, ``last_up`` keyed by stream index.
    """

    def __init__(self, n_feat: int, height: int, width: int, stride: int, bias: bool,
                 act: nn.Module | None = None) -> None:
        super().__init__()
        self.height, self.width = height, width
        self.feats = [int(n_feat * stride**i) for i in range(height)]
        # One DAU per stream, listed ``width`` times (shared weights, as in the official model).
        self.blocks = nn.ModuleList([nn.ModuleList([DAU(f, act=act)] * width) for f in self.feats])
        scales = [2**i for i in range(height - 1, 0, -1)]  # largest first, as official
        self.last_up = nn.ModuleDict({f"{i}": UpSample(self.feats[i], 2**i, stride) for i in range(1, height)})
        self.down = nn.ModuleDict()
        for i, f in enumerate(self.feats):
            for s in scales[i:]:
                self.down[f"{f}_{s}"] = DownSample(f, s, stride)
        self.up = nn.ModuleDict()
        for i, f in enumerate(reversed(self.feats)):
            for s in scales[i:]:
                self.up[f"{f}_{s}"] = UpSample(f, s, stride)
        self.conv_out = nn.Conv2d(n_feat, n_feat, kernel_size=3, padding=1, bias=bias)
        self.selective_kernel = nn.ModuleList([SKFF(int(n_feat * stride**i), height) for i in range(height)])

    def _resample(self, t: torch.Tensor, j: int, k: int) -> torch.Tensor:
        """Bring stream ``k`` to the resolution/width of stream ``j`` (channel keys are static)."""
        if j == k:
            return t
        key = f"{self.feats[k]}_{2 ** abs(j - k)}"
        return self.up[key](t) if j < k else self.down[key](t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        h = x
        for j in range(self.height):  # first column: progressively down-sampled streams
            if j > 0:
                h = self.down[f"{self.feats[j - 1]}_2"](h)
            h = self.blocks[j][0](h)
            outs.append(h)
        for i in range(1, self.width):  # remaining columns: SKFF mesh exchange then DAU
            fused = [self.selective_kernel[j]([self._resample(outs[k], j, k) for k in range(self.height)])
                     for j in range(self.height)]
            outs = [self.blocks[j][i](fused[j]) for j in range(self.height)]
        ups = [outs[0]] + [self.last_up[f"{k}"](outs[k]) for k in range(1, self.height)]
        return self.conv_out(self.selective_kernel[0](ups)) + x


class RRG(nn.Module):
    """Recursive residual group (Fig. 1): ``n_MSRB`` MSRBs, a 3x3 conv, long residual."""

    def __init__(self, n_feat: int, n_MSRB: int, height: int, width: int, stride: int, bias: bool = False,
                 act: nn.Module | None = None) -> None:
        super().__init__()
        blocks: list[nn.Module] = [MSRB(n_feat, height, width, stride, bias, act) for _ in range(n_MSRB)]
        blocks.append(nn.Conv2d(n_feat, n_feat, 3, padding=1, bias=False))
        self.body = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class MIRNet(nn.Module):
    """MIRNet denoiser (Fig. 1): conv_in, ``n_RRG`` RRGs, conv_out, global residual. RGB in [0, 1], no clamp."""

    pad_multiple = 4  # 2 ** (height - 1); set per instance from the config

    def __init__(self, in_channels: int = 3, out_channels: int = 3, n_feat: int = 64, kernel_size: int = 3,
                 stride: int = 2, n_RRG: int = 3, n_MSRB: int = 2, height: int = 3, width: int = 2,
                 bias: bool = False) -> None:
        super().__init__()
        self.pad_multiple = 2 ** (height - 1)
        pad = (kernel_size - 1) // 2
        act = nn.PReLU()  # shared by every DAU body (official default-argument PReLU); not a key of its own
        self.conv_in = nn.Conv2d(in_channels, n_feat, kernel_size, padding=pad, bias=bias)
        self.body = nn.Sequential(*[RRG(n_feat, n_MSRB, height, width, stride, bias, act) for _ in range(n_RRG)])
        self.conv_out = nn.Conv2d(n_feat, out_channels, kernel_size, padding=pad, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = pad_to_multiple(x, self.pad_multiple)
        return crop_to(self.conv_out(self.body(self.conv_in(xp))) + xp, x)


@register("mirnet", description="MIRNet (ECCV 2020) as in official PNGAN; loads MIRNet_sidd/polyu.pth",
          in_channels=3, out_channels=3, n_feat=64, kernel_size=3, stride=2, n_RRG=3, n_MSRB=2,
          height=3, width=2, bias=False)
def mirnet(**cfg) -> MIRNet:
    return MIRNet(**cfg)
