"""The noise KL loss (AKLD as a training loss) against closed-form values, and its gradient where AKLD's is 0."""

from __future__ import annotations

import math

import torch

from pngan.train.losses import KL_FLOOR, local_noise_var, noise_kl_loss


def _pm(s: float, shape=(1, 3, 20, 24), seed=0) -> torch.Tensor:
    """A +-s field: its square is s**2 everywhere, so every local variance estimate is exactly s**2."""
    g = torch.Generator().manual_seed(seed)
    return s * (torch.randint(0, 2, shape, generator=g).float() * 2 - 1)


def test_closed_form():
    clean = torch.full((1, 3, 20, 24), 0.5)
    sr, sf = 4 / 255, 6 / 255
    real, fake = clean + _pm(sr, seed=1), clean + _pm(sf, seed=2)
    assert torch.allclose(local_noise_var(real, clean), torch.full_like(clean, sr**2), rtol=1e-5)
    r = (sf**2 + KL_FLOOR) / (sr**2 + KL_FLOOR)
    assert math.isclose(noise_kl_loss(fake, real, clean).item(), 0.5 * (r - 1 - math.log(r)), rel_tol=1e-5)
    assert noise_kl_loss(real, real, clean).item() < 1e-7  # equal noise levels: zero


def test_pushes_noise_down_where_the_real_residual_is_zero():
    clean = torch.full((1, 3, 16, 16), 0.5)
    fake = (clean + _pm(3 / 255, shape=(1, 3, 16, 16))).requires_grad_(True)
    loss = noise_kl_loss(fake, clean.clone(), clean)  # real == clean: AKLD's clamped ratio has no gradient
    loss.backward()
    step = fake.detach() - 1e-4 * fake.grad
    assert loss.item() > 1.0 and fake.grad.abs().sum() > 0
    assert noise_kl_loss(step, clean, clean).item() < loss.item()  # a gradient step lowers the noise
