"""PNGAN losses: pixel-level relativistic-average GAN, image-domain alignment, noise-level matching."""

from __future__ import annotations

from typing import Callable

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
    """AKLD's window (OpenCV's ``getGaussianKernel(size, -1)``, the fixed 7-tap table for size 7), 2-D."""
    from pngan.metrics.akld import gaussian_kernel_1d

    g = torch.as_tensor(gaussian_kernel_1d(size), device=device, dtype=dtype)
    return (g[:, None] * g[None, :])[None, None]


def local_noise_var(noisy: torch.Tensor, clean: torch.Tensor, size: int = 7) -> torch.Tensor:
    """Per-pixel, per-channel noise variance as AKLD estimates it: Gaussian-blurred squared residual."""
    c = noisy.shape[1]
    w = _gaussian_window(size, noisy.device, noisy.dtype).expand(c, 1, size, size)
    return F.conv2d(F.pad((noisy - clean) ** 2, (size // 2,) * 4, mode="reflect"), w, groups=c)


def local_noise_std(noisy: torch.Tensor, clean: torch.Tensor, size: int = 7) -> torch.Tensor:
    """Per-pixel, per-channel noise standard deviation (square root of :func:`local_noise_var`)."""
    return (local_noise_var(noisy, clean, size) + 1e-8).sqrt()


def noise_level_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Noise-domain alignment: L1 between local noise-level maps of fake and real (what AKLD compares)."""
    return F.l1_loss(local_noise_std(fake, clean), local_noise_std(real, clean))


KL_FLOOR = (0.5 / 255) ** 2  # half an 8-bit step: below it, rounding to 8 bits leaves no noise


def noise_kl_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Per-pixel KL(N(0, v_fake) || N(0, v_real)) of the local variance maps, averaged: AKLD as a loss.

    Both variances get ``KL_FLOOR`` added instead of AKLD's clamp of the ratio, so the gradient never
    vanishes: where the real residual is zero (flat JPEG blocks, clipped highlights) the fake's noise is
    pushed below half an 8-bit step, which 8-bit rounding then removes.
    """
    r = (local_noise_var(fake, clean) + KL_FLOOR) / (local_noise_var(real, clean) + KL_FLOOR)
    return 0.5 * (r - 1 - torch.log(r)).mean()


def _channel_mixes(e: torch.Tensor) -> torch.Tensor:
    """R, G, B and the pairwise sums R+G, R+B, G+B: the power of a sum carries the cross-spectrum's real part."""
    r, g, b = e[:, 0:1], e[:, 1:2], e[:, 2:3]
    return torch.cat([r, g, b, r + g, r + b, g + b], dim=1)


def _colour_differences(e: torch.Tensor) -> torch.Tensor:
    """R - G, B - G and R - B: the chroma of the noise, whose power falls as the channels move together."""
    r, g, b = e[:, 0:1], e[:, 1:2], e[:, 2:3]
    return torch.cat([r - g, b - g, r - b], dim=1)


def noise_power_spectrum(noisy: torch.Tensor, clean: torch.Tensor, pool: int = 2,
                         mixes: Callable[[torch.Tensor], torch.Tensor] = _channel_mixes) -> torch.Tensor:
    """Batch-mean 2-D power spectrum (orthonormal FFT) of the residual, per channel mix (``mixes``: R, G, B and
    their pairwise sums), ``pool``-averaged over neighbouring frequencies to lower the variance of the
    estimate: ``(mixes, H/pool, W/pool)``."""
    e = (noisy - clean).float()
    e = mixes(e - e.mean(dim=(2, 3), keepdim=True))
    p = torch.fft.fft2(e, norm="ortho").abs().square().mean(dim=0)
    return F.avg_pool2d(p[None], pool)[0] if pool > 1 else p


SPECTRUM_FLOOR = (0.05 / 255) ** 2  # far below one 8-bit step of noise power per frequency


def _log_spectrum_distance(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor,
                           mixes: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Mean |ln P_fake - ln P_real| of the residuals' power spectra per channel mix (the real one without grad)."""
    pf = noise_power_spectrum(fake, clean, mixes=mixes)
    with torch.no_grad():
        pr = noise_power_spectrum(real, clean, mixes=mixes)
    return (torch.log(pf + SPECTRUM_FLOOR) - torch.log(pr + SPECTRUM_FLOOR)).abs().mean()


def noise_spectrum_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean |ln P_fake - ln P_real| of the residuals' 2-D power spectra on the same clean crops.

    Matching the 2-D spectrum (colour mixes included) matches the noise's autocorrelation at every lag
    and between channels (Wiener-Khinchin), its anisotropy and the 8x8-periodic peaks of JPEG; removing
    image detail shows up as excess high-frequency power, so it also penalizes softening.
    """
    return _log_spectrum_distance(fake, real, clean, _channel_mixes)


def noise_chroma_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean |ln P_fake - ln P_real| of the 2-D power spectra of the residuals' colour differences (R-G, B-G, R-B).

    The spectrum loss sees colour only through the sums R+G etc., whose power changes little between
    channels that move together and channels that do not; a difference's power falls towards 0 as they
    move together, so this term sees the colour blobs (chroma noise) of real camera noise.
    """
    return _log_spectrum_distance(fake, real, clean, _colour_differences)


def noise_quantile_loss(fake: torch.Tensor, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """1-D Wasserstein distance between the residuals' value distributions, per crop and channel
    (L1 between sorted residuals, in 8-bit steps): the marginal histogram's shape, tails included."""
    n, c = fake.shape[:2]
    qf = torch.sort((fake - clean).float().reshape(n, c, -1), dim=-1).values
    with torch.no_grad():
        qr = torch.sort((real - clean).float().reshape(n, c, -1), dim=-1).values
    return (qf - qr).abs().mean() * 255.0


def content_change_loss(fake: torch.Tensor, fake2: torch.Tensor, real: torch.Tensor,
                        clean: torch.Tensor, source: torch.Tensor | None = None) -> torch.Tensor:
    """Power of the part of the residual that does not change with the seed, relative to real noise power.

    For two samples of the same crops, ``r_i = fake_i - clean = d + n_i`` with independent zero-mean
    ``n_i``: ``E[r_1 r_2] = d^2``, an unbiased estimate of the deterministic content change ``d``
    (softening, colour shifts) that a denoiser trained on real noise cannot undo. Divided by
    ``mean((real - clean)^2)``, it reads as the share of real noise power spent on content.
    ``source``: the clean images the two samples were made from when they are not ``clean`` (clean-only
    crops without a real counterpart); the real power still comes from ``real`` and ``clean``.
    """
    src = clean if source is None else source
    r1, r2 = (fake - src).float(), (fake2 - src).float()
    with torch.no_grad():
        power = (real - clean).float().square().mean().clamp_min(SPECTRUM_FLOOR)
    return (r1 * r2).mean() / power
