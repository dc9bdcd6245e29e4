"""SMNet, the PNGAN generator: a Simple Multi-scale Network, lighter relative of MIRNet.

    x -> conv_in -> RRG x n_rrg -> conv_out -> (+ x)
    RRG  = MSRB x n_msrb -> conv, residual
    MSRB = streams at 1, 1/2, 1/4 resolution (residual anti-aliased down-sampling);
           CAU per stream -> cross-scale exchange (resample + SKFF per scale) -> CAU per stream
           -> up-sample all to full resolution -> SKFF -> 1x1 conv, residual
    CAU  = conv-PReLU-conv body, ECA channel attention (GAP, 1-D conv k=3, sigmoid), residual
    SKFF = sum streams, GAP, 1x1 squeeze + PReLU, one 1x1 conv per stream, softmax over streams

Channels stay ``n_feat`` at every scale (MIRNet doubles them); there is no spatial attention.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register


def _conv(cin: int, cout: int, k: int = 3, bias: bool = False, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


class ECA(nn.Module):
    """Efficient channel attention: GAP -> 1-D conv across channels -> sigmoid gate."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(x).flatten(1).unsqueeze(1)  # N,1,C
        y = torch.sigmoid(self.conv(y)).transpose(1, 2).unsqueeze(-1)  # N,C,1,1
        return x * y


class CAU(nn.Module):
    """Channel attention unit: conv-PReLU-conv body gated by ECA, plus the input."""

    def __init__(self, c: int, bias: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3, bias), nn.PReLU(), _conv(c, c, 3, bias))
        self.eca = ECA(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.eca(self.body(x))


class BlurPool(nn.Module):
    """Anti-aliased stride-2 down-sampling: fixed depthwise [1,2,1]^2/16 blur, reflect-padded."""

    def __init__(self, c: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16.0
        self.register_buffer("kernel", k.expand(c, 1, 3, 3).clone(), persistent=False)
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.kernel, stride=2, groups=self.c)


class Down(nn.Module):
    """Residual down-sampling by 2: [conv-PReLU-blurpool-1x1] + [blurpool-1x1]."""

    def __init__(self, c: int, bias: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3, bias), nn.PReLU(), BlurPool(c), _conv(c, c, 1, bias))
        self.skip = nn.Sequential(BlurPool(c), _conv(c, c, 1, bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class Up(nn.Module):
    """Residual up-sampling by 2: [transposed conv-PReLU-1x1] + [bilinear-1x1]."""

    def __init__(self, c: int, bias: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1, bias=bias),
            nn.PReLU(), _conv(c, c, 1, bias))
        self.skip = _conv(c, c, 1, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.body(x) + self.skip(up)


def _resampler(c: int, src: int, dst: int, bias: bool) -> nn.Module:
    """Chain of ``|src - dst|`` Down (src < dst) or Up (src > dst) blocks; identity if equal."""
    if src == dst:
        return nn.Identity()
    block = Down if src < dst else Up
    return nn.Sequential(*[block(c, bias) for _ in range(abs(dst - src))])


class SKFF(nn.Module):
    """Selective kernel feature fusion of ``height`` same-size streams."""

    def __init__(self, c: int, height: int, reduction: int = 8, bias: bool = False) -> None:
        super().__init__()
        d = max(c // reduction, 4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = nn.Sequential(nn.Conv2d(c, d, 1, bias=bias), nn.PReLU())
        self.fcs = nn.ModuleList([nn.Conv2d(d, c, 1, bias=bias) for _ in range(height)])

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        stacked = torch.stack(feats, dim=1)  # N,S,C,H,W
        z = self.squeeze(self.pool(stacked.sum(dim=1)))
        attn = torch.softmax(torch.stack([fc(z) for fc in self.fcs], dim=1), dim=1)  # N,S,C,1,1
        return (stacked * attn).sum(dim=1)


class MSRB(nn.Module):
    """Multi-scale residual block: CAU streams at ``height`` scales, SKFF exchange, SKFF fusion."""

    def __init__(self, c: int, height: int = 3, reduction: int = 8, bias: bool = False) -> None:
        super().__init__()
        self.height = height
        self.downs = nn.ModuleList([Down(c, bias) for _ in range(height - 1)])
        self.cau1 = nn.ModuleList([CAU(c, bias) for _ in range(height)])
        self.exchange = nn.ModuleList([
            nn.ModuleList([_resampler(c, src, dst, bias) for src in range(height)]) for dst in range(height)])
        self.skff = nn.ModuleList([SKFF(c, height, reduction, bias) for _ in range(height)])
        self.cau2 = nn.ModuleList([CAU(c, bias) for _ in range(height)])
        self.last_up = nn.ModuleList([_resampler(c, src, 0, bias) for src in range(height)])
        self.last_skff = SKFF(c, height, reduction, bias)
        self.conv = _conv(c, c, 1, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        streams = [x]
        for down in self.downs:
            streams.append(down(streams[-1]))
        streams = [cau(s) for cau, s in zip(self.cau1, streams)]
        streams = [skff([rs(s) for rs, s in zip(row, streams)]) for row, skff in zip(self.exchange, self.skff)]
        streams = [cau(s) for cau, s in zip(self.cau2, streams)]
        fused = self.last_skff([up(s) for up, s in zip(self.last_up, streams)])
        return x + self.conv(fused)


class RRG(nn.Module):
    """Recursive residual group: MSRB x n_msrb -> 3x3 conv, plus the input."""

    def __init__(self, c: int, n_msrb: int, height: int, reduction: int, bias: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(*[MSRB(c, height, reduction, bias) for _ in range(n_msrb)], _conv(c, c, 3, bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SMNet(nn.Module):
    """``out = x + conv_out(RRG^n(conv_in(x)))``; any H x W (padded to ``2**(height-1)``, cropped back)."""

    def __init__(self, in_channels: int = 3, n_feat: int = 64, n_rrg: int = 3, n_msrb: int = 2,
                 height: int = 3, reduction: int = 8, bias: bool = False) -> None:
        super().__init__()
        self.pad_multiple = 2 ** (height - 1)
        self.conv_in = _conv(in_channels, n_feat, 3, bias)
        self.body = nn.Sequential(*[RRG(n_feat, n_msrb, height, reduction, bias) for _ in range(n_rrg)])
        self.conv_out = _conv(n_feat, in_channels, 3, bias)
        nn.init.normal_(self.conv_out.weight, std=1e-3)  # start near identity: fake = generator input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = pad_to_multiple(x, self.pad_multiple)
        return x + crop_to(self.conv_out(self.body(self.conv_in(xp))), x)


@register("smnet", kind="generator", description="SMNet generator (PNGAN), full size",
          in_channels=3, n_feat=64, n_rrg=3, n_msrb=2, height=3, reduction=8, bias=False)
def smnet(**cfg) -> SMNet:
    return SMNet(**cfg)


@register("smnet-s", kind="generator", description="SMNet generator, small (trains on a 2-core CPU)",
          in_channels=3, n_feat=16, n_rrg=1, n_msrb=1, height=3, reduction=8, bias=False)
def smnet_s(**cfg) -> SMNet:
    return SMNet(**cfg)
