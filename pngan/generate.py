"""Sampling realistic noisy images from a trained generator (SMNet): clean + AWGN -> fake noisy.

The generator's stochasticity is the AWGN it is fed, so a seed fixes the sample.
Batch commands derive each sample's seed from ``(seed, image name, k)`` with
:func:`sample_seed`, so two images never share one noise field and a run repeats
bit for bit. The AWGN level is stored with the weights (``input_sigma`` in the safetensors
metadata); ``DEFAULT_INPUT_SIGMA`` is used when absent.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
import torch.nn as nn

from pngan.models.inference import InferenceModel

DEFAULT_INPUT_SIGMA = 5.0  # on the 0-255 scale


def sample_seed(seed: int, identity: str, k: int = 0) -> int:
    """Seed of sample ``k`` of the image called ``identity`` (its file name) in a run seeded ``seed``.

    Different images (and samples) get independent noise; the same triple always gives the same seed.
    """
    mixed = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(identity.encode("utf-8")), int(k)])
    return int(mixed.generate_state(1, dtype=np.uint64)[0]) & ((1 << 63) - 1)


def input_sigma(model: nn.Module) -> float:
    """The AWGN sigma (0-255 scale) the generator was trained with."""
    return float(getattr(model, "pngan_meta", {}).get("input_sigma", DEFAULT_INPUT_SIGMA))


def awgn_input(clean: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Generator input: ``clean + sigma/255 * n`` with ``n`` drawn from ``generator``."""
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + (sigma / 255.0) * noise.to(clean.device)


@torch.inference_mode()
def generate(model: nn.Module, clean: np.ndarray, seed: int, sigma: float | None = None,
             device: str = "cpu", quantize: bool = True) -> np.ndarray:
    """One fake noisy sample for a clean RGB (H, W, 3) float image in [0, 1]; deterministic per seed."""
    sigma = input_sigma(model) if sigma is None else sigma
    x = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].float()
    g = torch.Generator().manual_seed(int(seed))
    inp = awgn_input(x, sigma, g).to(device)
    y = InferenceModel(model).to(device)(inp)[0].permute(1, 2, 0).float().cpu().numpy()
    return (np.round(y * 255.0) / 255.0).astype(np.float32) if quantize else y
