"""SMNet-C: SMNet-N told the camera by a noise fingerprint (:mod:`pngan.realism.condition`).

``forward(clean, z, cond)``:

    cond (COND_DIM) -> its NLF times exp(MLP(cond)) (what the estimator reads low or high for such a camera)
                    -> level L[c](x): that NLF at the clean pixel's intensity (per channel, linear between the
                       bin centres)
    [clean, L / 30] -> conv_in -> FiLM(cond) -> RRG x n_rrg -> FiLM(cond) -> F
    F -> 3x3 conv -> gains A[c, k] and a log-level correction d[c] per pixel
    z (N(0, 1), noise_channels) -> correlated fields u_k at 1, 1/2, 1/4 resolution (as SMNet-N), odd shaping,
                                   8x8 phase map on the gains
    fake = clean + (L * exp(d) / 255) * sum_k A[c, k] * shaped u_k

The level comes from the fingerprint, so a camera the generator never saw still gets its own level; the network
learns the texture (space, colour, blocks) that goes with a fingerprint and how far the estimator's level is
off. The residual is odd in ``z``: zero mean over draws, no fixed change of the content.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from pngan.models.padding import crop_to, pad_to_multiple
from pngan.models.registry import register
from pngan.models.smnet import RRG, _conv
from pngan.models.smnet_noise import NoiseFields

BINS = 8  # intensity bins of the noise level function (pngan.realism.fingerprint_estimate.BINS)
COND_DIM = BINS * 3 + 3 + 1 + 3 + 1 + 1  # the layout: pngan.realism.condition
LEVEL_UNIT = 10.0  # the NLF is given as log(std / LEVEL_UNIT)


def level_map(clean: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) noise std (0-255) of each pixel: the NLF of ``cond`` at the pixel's own channel intensity."""
    nlf = LEVEL_UNIT * torch.exp(cond[:, :BINS * 3].view(-1, BINS, 3))  # N x BINS x 3
    pos = (clean.clamp(0, 1) * BINS - 0.5).clamp(0, BINS - 1)  # bin-centre coordinates
    out = torch.zeros_like(clean)
    for b in range(BINS):  # hat weights: linear between neighbouring centres (export-friendly, no gather)
        w = torch.relu(1.0 - (pos - b).abs())
        out = out + w * nlf[:, b, :, None, None]
    return out


class FiLM(nn.Module):
    """Per-channel scale and shift of features from the fingerprint; the identity at the start."""

    def __init__(self, cond_dim: int, channels: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * channels))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.mlp(cond).chunk(2, dim=1)
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class SMNetCond(nn.Module):
    """``fake = clean + L(clean, cond) * exp(d) * sum_k A_k * shape(u_k(z)) / 255``; any H x W."""

    takes_noise = True
    takes_fingerprint = True
    PHASE_SCALE = 4.0
    NLF_SCALE = 4.0  # the NLF correction in units that one Adam step moves by about 4 lr (in log level)

    def __init__(self, in_channels: int = 3, n_feat: int = 16, n_rrg: int = 1, n_msrb: int = 1, height: int = 3,
                 reduction: int = 8, bias: bool = False, noise_channels: int = 4, per_scale: int = 4,
                 scales: int = 3, kernel: int = 5, block: int = 8, hidden: int = 64) -> None:
        super().__init__()
        if in_channels != 3:
            raise ValueError("smnet-c is for RGB images (its fingerprint has R, G, B levels)")
        if min(noise_channels, per_scale, scales, kernel, n_feat, hidden) < 1 or block < 0:
            raise ValueError("noise_channels, per_scale, scales, kernel, n_feat and hidden must be >= 1, block >= 0")
        self.in_channels, self.noise_channels, self.n_fields = 3, noise_channels, per_scale * scales
        self.cond_dim = COND_DIM
        self.pad_multiple = max(2 ** (height - 1), 2 ** (scales - 1), block or 1)
        self.conv_in = _conv(6, n_feat, 3, bias)
        self.nlf_correction = nn.Sequential(nn.Linear(COND_DIM, hidden), nn.SiLU(), nn.Linear(hidden, BINS * 3))
        nn.init.zeros_(self.nlf_correction[2].weight)
        nn.init.zeros_(self.nlf_correction[2].bias)
        self.film_in = FiLM(COND_DIM, n_feat, hidden)
        self.body = nn.Sequential(*[RRG(n_feat, n_msrb, height, reduction, bias) for _ in range(n_rrg)])
        self.film_out = FiLM(COND_DIM, n_feat, hidden)
        self.head = nn.Conv2d(n_feat, 3 * (self.n_fields + 1), 3, padding=1, bias=True)
        nn.init.normal_(self.head.weight, std=1e-4)
        with torch.no_grad():  # unit-variance noise of partly correlated colour at the fingerprint's level
            self.head.bias.copy_(torch.cat([torch.randn(3 * self.n_fields) / self.n_fields ** 0.5, torch.zeros(3)]))
        self.fields = NoiseFields(noise_channels, per_scale, scales, kernel)
        self.cubic = nn.Parameter(torch.zeros(self.n_fields))
        self.block = block
        self.phase = nn.Parameter(torch.zeros(self.n_fields, block, block)) if block else None

    def forward(self, clean: torch.Tensor, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        n = clean.shape[0]
        if z.shape[0] != n or z.shape[1] != self.noise_channels or z.shape[-2:] != clean.shape[-2:]:
            raise ValueError(f"noise of shape {tuple(z.shape)} for an image of shape {tuple(clean.shape)}: "
                             f"expected N x {self.noise_channels} x H x W")
        if cond.dim() != 2 or cond.shape[1] != self.cond_dim or cond.shape[0] not in (1, n):
            raise ValueError(f"fingerprint of shape {tuple(cond.shape)}: expected {n} (or 1) x {self.cond_dim}")
        cond = cond.expand(n, -1).to(clean.dtype)
        xp, zp = pad_to_multiple(clean, self.pad_multiple), pad_to_multiple(z, self.pad_multiple)
        _, _, h, w = xp.shape
        nlf = cond[:, :BINS * 3] + (self.NLF_SCALE * self.nlf_correction(cond)).clamp(-2, 2)
        level = level_map(xp, torch.cat([nlf, cond[:, BINS * 3:]], dim=1))
        f = self.film_in(self.conv_in(torch.cat([xp, level / 30.0], dim=1)), cond)
        out = self.head(self.film_out(self.body(f), cond))
        gains = out[:, :3 * self.n_fields].view(n, 3, self.n_fields, h, w)
        correction = out[:, 3 * self.n_fields:].clamp(-3, 3)
        if self.phase is not None:
            grid = self.phase.repeat(1, h // self.block, w // self.block)  # K x H x W, phase 0 at the top left
            gains = gains * (1.0 + self.PHASE_SCALE * grid)
        u = self.fields(zp)
        u = u + self.cubic.view(1, -1, 1, 1) * u ** 3
        shaped = (gains * u.unsqueeze(1)).sum(dim=2)
        residual = level * torch.exp(correction) * shaped / 255.0
        return clean + crop_to(residual, clean)


def takes_fingerprint(model: nn.Module) -> bool:
    """Whether a generator is called ``model(clean, z, cond)``."""
    net = getattr(model, "net", model)
    net = getattr(net, "_orig_mod", getattr(net, "module", net))
    return bool(getattr(net, "takes_fingerprint", False))


@register("smnet-c", kind="generator", description="SMNet-C generator: SMNet-N told the camera by a noise "
          "fingerprint (pngan noise-profile); the level follows the fingerprint's NLF, the texture is learned",
          in_channels=3, n_feat=16, n_rrg=1, n_msrb=1, height=3, reduction=8, bias=False, noise_channels=4,
          per_scale=4, scales=3, kernel=5, block=8, hidden=64)
def smnet_c(**cfg) -> SMNetCond:
    return SMNetCond(**cfg)
