"""PNGAN losses: pixel-level relativistic-average GAN, image-domain alignment, noise-level matching."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def ragan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator side of the per-pixel relativistic-average loss.

    Each pixel's logit is compared with the batch mean of the other kind's logits
    at the same pixel: real should look more real than the average fake, and
    the fake less real than the average real.
    """
    real_rel = real_logits - fake_logits.mean(dim=0, keepdim=True)
    fake_rel = fake_logits - real_logits.mean(dim=0, keepdim=True)
    return (F.binary_cross_entropy_with_logits(real_rel, torch.ones_like(real_rel))
            + F.binary_cross_entropy_with_logits(fake_rel, torch.zeros_like(fake_rel))) / 2


def ragan_g_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side: the labels swap (``real_logits`` carry no gradient)."""
    real_rel = real_logits.detach() - fake_logits.mean(dim=0, keepdim=True)
    fake_rel = fake_logits - real_logits.detach().mean(dim=0, keepdim=True)
    return (F.binary_cross_entropy_with_logits(real_rel, torch.zeros_like(real_rel))
            + F.binary_cross_entropy_with_logits(fake_rel, torch.ones_like(fake_rel))) / 2


def alignment_loss(denoiser: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Image-domain alignment: L1 between the frozen denoiser's outputs on fake and real noisy images."""
    with torch.no_grad():
        target = denoiser(real)
    return F.l1_loss(denoiser(fake), target)


def _gaussian_window(size: int = 7, device=None, dtype=torch.float32) -> torch.Tensor:
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # OpenCV's rule, as AKLD uses
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def local_noise_std(noisy: torch.Tensor, clean: torch.Tensor, size: int = 7) -> torch.Tensor:
    """Per-pixel, per-channel noise standard deviation: Gaussian-blurred squared residual, square-rooted."""
    c = noisy.shape[1]
    w = _gaussian_window(size, noisy.device, noisy.dtype).expand(c, 1, size, size)
    sq = F.pad((noisy - clean) ** 2, (size // 2,) * 4, mode="reflect")
    return (F.conv2d(sq, w, groups=c) + 1e-8).sqrt()


def noise_level_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Noise-domain alignment: L1 between local noise-level maps of fake and real (what AKLD compares)."""
    return F.l1_loss(local_noise_std(fake, clean), local_noise_std(real, clean))
