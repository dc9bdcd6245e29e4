"""SMNet-N: the PNGAN generator given its noise as a second input, which it shapes but cannot turn into content.

    clean -> conv_in -> RRG x n_rrg -> F                     (SMNet's multi-scale body, features of the clean image)
    F -> 3x3 conv -> gains A[c, k] per pixel (c: R, G, B; k: noise field)
    z (N(0, 1), noise_channels) -> at 1, 1/2, 1/4 resolution (2x2 mean pooling, rescaled to unit variance):
        a k x k conv per scale -> bilinear up to full size -> fields u_k -> odd shaping u + a_k u^3
    8x8 phase map P[k] (JPEG's block grid): gains times (1 + 4 P[k][y mod 8, x mod 8])
    fake = clean + (10 / 255) * sum_k A[c, k] * shaped u_k

The residual is an odd function of the noise, so its mean over noise draws is zero for every clean image: no fixed
change of the content (the weakness of SMNet fed ``clean + AWGN``, whose residual was three quarters seed-independent).
Spatial correlation and blotches come from the multi-scale fields, colour correlation from the per-channel gains,
signal dependence from the features, heavy tails from the odd shaping.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register
from pngan.models.smnet import RRG, _conv


class NoiseFields(nn.Module):
    """Learned correlated noise fields from white noise: one k x k conv per scale, up-sampled to full size."""

    def __init__(self, noise_channels: int, per_scale: int, scales: int, kernel: int) -> None:
        super().__init__()
        self.scales = scales
        self.convs = nn.ModuleList(
            [nn.Conv2d(noise_channels, per_scale, kernel, padding=kernel // 2, bias=False) for _ in range(scales)])
        for conv in self.convs:  # unit-variance fields at the start
            nn.init.normal_(conv.weight, std=(noise_channels * kernel * kernel) ** -0.5)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        size, fields, zs = z.shape[-2:], [], z
        for s, conv in enumerate(self.convs):
            if s:
                zs = F.avg_pool2d(zs, 2) * 2.0  # still white and unit-variance at half the resolution
            u = conv(zs)
            fields.append(u if s == 0 else F.interpolate(u, size=size, mode="bilinear", align_corners=False))
        return torch.cat(fields, dim=1)


class SMNetNoise(nn.Module):
    """``fake = clean + sum_k A_k(clean) * shape(u_k(z)) / 255``; ``forward(clean, z)``, any H x W."""

    takes_noise = True
    GAIN_SCALE = 10.0  # gains and phases in units that one Adam step moves by about lr of the noise level
    PHASE_SCALE = 4.0

    def __init__(self, in_channels: int = 3, n_feat: int = 16, n_rrg: int = 1, n_msrb: int = 1, height: int = 3,
                 reduction: int = 8, bias: bool = False, noise_channels: int = 4, per_scale: int = 4,
                 scales: int = 3, kernel: int = 5, block: int = 8) -> None:
        super().__init__()
        if min(noise_channels, per_scale, scales, kernel, n_feat) < 1 or block < 0:
            raise ValueError("noise_channels, per_scale, scales, kernel and n_feat must be >= 1, block >= 0")
        self.in_channels, self.noise_channels, self.n_fields = in_channels, noise_channels, per_scale * scales
        self.pad_multiple = max(2 ** (height - 1), 2 ** (scales - 1), block or 1)
        self.conv_in = _conv(in_channels, n_feat, 3, bias)
        self.body = nn.Sequential(*[RRG(n_feat, n_msrb, height, reduction, bias) for _ in range(n_rrg)])
        self.gain = nn.Conv2d(n_feat, in_channels * self.n_fields, 3, padding=1, bias=True)
        nn.init.normal_(self.gain.weight, std=1e-4)
        nn.init.normal_(self.gain.bias, std=0.1)  # about 3/255 of partly colour-correlated noise at the start
        self.fields = NoiseFields(noise_channels, per_scale, scales, kernel)
        self.cubic = nn.Parameter(torch.zeros(self.n_fields))
        self.block = block
        self.phase = nn.Parameter(torch.zeros(self.n_fields, block, block)) if block else None

    def forward(self, clean: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if z.shape[0] != clean.shape[0] or z.shape[1] != self.noise_channels or z.shape[-2:] != clean.shape[-2:]:
            raise ValueError(f"noise of shape {tuple(z.shape)} for an image of shape {tuple(clean.shape)}: "
                             f"expected N x {self.noise_channels} x H x W")
        xp, zp = pad_to_multiple(clean, self.pad_multiple), pad_to_multiple(z, self.pad_multiple)
        n, _, h, w = xp.shape
        gains = self.gain(self.body(self.conv_in(xp))).view(n, self.in_channels, self.n_fields, h, w)
        if self.phase is not None:
            grid = self.phase.repeat(1, h // self.block, w // self.block)  # K x H x W, phase 0 at the top left
            gains = gains * (1.0 + self.PHASE_SCALE * grid)
        u = self.fields(zp)
        u = u + self.cubic.view(1, -1, 1, 1) * u ** 3
        residual = (gains * u.unsqueeze(1)).sum(dim=2) * (self.GAIN_SCALE / 255.0)
        return clean + crop_to(residual, clean)


def takes_noise(model: nn.Module) -> bool:
    """Whether a generator is called ``model(clean, z)`` (True) or ``model(clean + sigma * z)``."""
    net = getattr(model, "net", model)  # an InferenceModel
    net = getattr(net, "_orig_mod", getattr(net, "module", net))  # compiled or DDP-wrapped
    return bool(getattr(net, "takes_noise", False))


@register("smnet-n", kind="generator", description="SMNet-N generator: SMNet-s features shape noise given as "
          "a second input (correlated fields, per-pixel colour gains, 8x8 grid); its residual has zero mean",
          in_channels=3, n_feat=16, n_rrg=1, n_msrb=1, height=3, reduction=8, bias=False, noise_channels=4,
          per_scale=4, scales=3, kernel=5, block=8)
def smnet_n(**cfg) -> SMNetNoise:
    return SMNetNoise(**cfg)
