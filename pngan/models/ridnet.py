"""RIDNet (Anwar & Barnes, "Real Image Denoising with Feature Attention", ICCV 2019).

Re-implementation of the definition PNGAN's ``test_denoiser.py`` uses
(``networks/RIDNet/ridnet.py`` in caiyuanhao1998/PNGAN). Attribute names, layer order
and numerics follow it exactly, so ``RIDNet_nam.pth`` loads with ``strict=True``. The
``sub_mean`` / ``add_mean`` mean-shift convs are in that checkpoint but, as in the
official forward, never used.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register

_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Conv2d):
    """1x1 conv adding ``sign * 255 * mean`` per channel (kept only for checkpoint compatibility)."""

    def __init__(self, sign: int = -1, rgb_range: float = 255, rgb_mean: tuple[float, ...] = _RGB_MEAN) -> None:
        super().__init__(3, 3, kernel_size=1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * rgb_range * torch.tensor(rgb_mean, dtype=torch.float32)
        self.requires_grad_(False)


class ConvAct(nn.Module):
    """Conv + activation (official BasicBlock / BasicBlockSig); key path ``body.0``."""

    def __init__(self, cin: int, cout: int, k: int, pad: int, act: nn.Module) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, k, 1, pad), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MergeRunDual(nn.Module):
    """Merge-and-run unit (Fig. 2): two dilated branches (1,2 | 3,4), concat, 3x3 conv, residual."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body1 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True),
                                   nn.Conv2d(c, c, 3, 1, 2, 2), nn.ReLU(inplace=True))
        self.body2 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 3, 3), nn.ReLU(inplace=True),
                                   nn.Conv2d(c, c, 3, 1, 4, 4), nn.ReLU(inplace=True))
        self.body3 = nn.Sequential(nn.Conv2d(c * 2, c, 3, 1, 1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body3(torch.cat([self.body1(x), self.body2(x)], dim=1)) + x


class ResidualBlock(nn.Module):
    """Residual block (Fig. 2): conv-ReLU-conv, add input, ReLU."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class EResidualBlock(nn.Module):
    """Enhanced residual block (Fig. 2): conv-ReLU-conv-ReLU-1x1 conv, add input, ReLU."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 1, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class CALayer(nn.Module):
    """Feature (channel) attention (Fig. 3): global pool, 1x1 down-ReLU, 1x1 up-sigmoid gate."""

    def __init__(self, c: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.c1 = ConvAct(c, c // reduction, 1, 0, nn.ReLU(inplace=True))
        self.c2 = ConvAct(c // reduction, c, 1, 0, nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.c2(self.c1(self.avg_pool(x)))


class EAM(nn.Module):
    """Enhancement attention module (Fig. 2): merge-and-run, residual, enhanced residual, attention."""

    def __init__(self, c: int, reduction: int = 16) -> None:
        super().__init__()
        self.r1 = MergeRunDual(c)
        self.r2 = ResidualBlock(c)
        self.r3 = EResidualBlock(c)
        self.ca = CALayer(c, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ca(self.r3(self.r2(self.r1(x))))


class RIDNet(nn.Module):
    """RIDNet (Fig. 2): head conv, four EAMs (b1..b4), tail conv; ``out = x + residual``. RGB in [0, 1], no clamp."""

    pad_multiple = 1  # no down-sampling

    def __init__(self, n_feats: int = 64, reduction: int = 16) -> None:
        super().__init__()
        self.sub_mean = MeanShift(-1)  # unused in forward (official)
        self.add_mean = MeanShift(+1)  # unused in forward (official)
        self.head = ConvAct(3, n_feats, 3, 1, nn.ReLU(inplace=True))
        self.b1 = EAM(n_feats, reduction)
        self.b2 = EAM(n_feats, reduction)
        self.b3 = EAM(n_feats, reduction)
        self.b4 = EAM(n_feats, reduction)
        self.tail = nn.Conv2d(n_feats, 3, 3, 1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = pad_to_multiple(x, self.pad_multiple)
        res = self.tail(self.b4(self.b3(self.b2(self.b1(self.head(xp))))))
        return crop_to(res + xp, x)


@register("ridnet", description="RIDNet (ICCV 2019) as in official PNGAN; loads RIDNet_nam.pth",
          n_feats=64, reduction=16)
def ridnet(**cfg) -> RIDNet:
    return RIDNet(**cfg)
