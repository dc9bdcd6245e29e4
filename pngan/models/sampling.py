"""Sampling one noisy image from a generator module: the seeded inputs and :func:`generate` (no fingerprint
or file handling here: :mod:`pngan.generate.sampler` opens generators, :mod:`pngan.realism.condition` makes
fingerprint vectors).

A generator fed ``clean + AWGN`` (smnet, smnet-s) gets ``sigma`` from its weights (``input_sigma``); one given its
noise (smnet-n) gets ``z`` as a second input; one told the camera (smnet-c) also its fingerprint vector.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from pngan.models.inference import InferenceModel
from pngan.models.inputs import input_sigma
from pngan.models.smnet_cond import takes_fingerprint
from pngan.models.smnet_noise import takes_noise


def awgn_input(clean: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Generator input: ``clean + sigma/255 * n`` with ``n`` drawn from ``generator``."""
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + (sigma / 255.0) * noise.to(clean.device)


def generator_input(clean: np.ndarray, seed: int, sigma: float) -> torch.Tensor:
    """The generator's input for a clean RGB (H, W, 3) image: 1 x 3 x H x W ``clean + sigma/255 * N(0, 1)``,
    the noise drawn on the CPU from a generator seeded ``seed`` (the same on every device and backend)."""
    x = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].float()
    return awgn_input(x, sigma, torch.Generator().manual_seed(int(seed)))


def noise_input(clean: np.ndarray, seed: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of a generator given its noise (``takes_noise``): 1 x 3 x H x W ``clean`` and 1 x ``channels``
    x H x W ``N(0, 1)``, drawn on the CPU from a generator seeded ``seed``."""
    x = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].float()
    z = torch.randn((1, channels, *x.shape[-2:]), generator=torch.Generator().manual_seed(int(seed)))
    return x, z


def _to_image(y: np.ndarray, quantize: bool) -> np.ndarray:
    """1 x 3 x H x W output -> (H, W, 3) float32, rounded to 8-bit levels when ``quantize``."""
    y = np.ascontiguousarray(y[0].transpose(1, 2, 0), dtype=np.float32)
    return (np.round(y * 255.0) / 255.0).astype(np.float32) if quantize else y


@torch.inference_mode()
def generate(model: nn.Module, clean: np.ndarray, seed: int, sigma: float | None = None,
             device: str = "cpu", quantize: bool = True, strength: float = 1.0,
             cond: np.ndarray | None = None) -> np.ndarray:
    """One fake noisy sample for a clean RGB (H, W, 3) float image in [0, 1]; deterministic per seed.

    ``strength`` scales the residual of a generator given its noise (smnet-n), whose residual is all noise: 2 is
    the same texture at twice the noise std, as at a higher ISO. ``cond``: the fingerprint vector
    (:func:`pngan.realism.condition.condition_vector`) of a generator told the camera (smnet-c), which
    refuses to run without one."""
    net = model if isinstance(model, InferenceModel) else InferenceModel(model).to(device)
    check_strength(net, strength)
    if takes_noise(net):
        x, z = noise_input(clean, seed, net.net.noise_channels)
        extra = ()
        if takes_fingerprint(net):
            if cond is None:
                from pngan.errors import PnganError

                raise PnganError(f"{net.net.pngan_name} is told the camera by a noise fingerprint: give one "
                                 "(pngan generate --like, or cond=)")
            extra = (torch.from_numpy(np.asarray(cond, np.float32))[None].to(device),)
        x, raw = x.to(device), net.net(x.to(device), z.to(device), *extra)
        y = (x + strength * (raw - x)).clamp(0.0, 1.0) if strength != 1.0 else raw.clamp(0.0, 1.0)
        return _to_image(y.float().cpu().numpy(), quantize)
    sigma = input_sigma(model) if sigma is None else sigma
    inp = generator_input(clean, seed, sigma).to(device)
    return _to_image(net(inp).float().cpu().numpy(), quantize)


def check_strength(model: nn.Module | None, strength: float) -> None:
    """``PnganError`` unless ``strength`` is a positive number, and 1 for a generator fed ``clean + AWGN``
    (whose residual is partly a fixed change of the image, which must not be scaled)."""
    from pngan.errors import PnganError

    if not (np.isfinite(strength) and strength > 0):
        raise PnganError(f"--strength must be a positive number, got {strength}")
    if model is not None and strength != 1.0 and not takes_noise(model):
        name = getattr(getattr(model, "net", model), "pngan_name", "this generator")
        raise PnganError(f"--strength needs a generator given its noise (smnet-n); {name} is fed clean + AWGN, "
                         f"and part of its residual is a change of the image, not noise")
