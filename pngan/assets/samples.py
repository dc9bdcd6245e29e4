"""Shipped sample images (256 x 256 crops of public-domain photos bundled with scikit-image)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from pngan.io.images import read_image

SAMPLES = ("coffee", "motorcycle")
# The synthetic noise the demo and the default parity data add: a visible low-light level of
# Poisson-Gaussian noise, y = x + sqrt(shot * x + read) * n.
SAMPLE_SHOT, SAMPLE_READ = 4e-3, 2e-4


def sample_path(name: str = "coffee") -> Path:
    """Path of a shipped sample image."""
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose one of {SAMPLES}")
    return Path(str(resources.files("pngan.assets").joinpath(f"{name}.png")))


def sample_image(name: str = "coffee") -> np.ndarray:
    """A shipped sample as RGB float32 (H, W, 3) in [0, 1]."""
    return read_image(sample_path(name))


def noisy_sample(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``clean`` with the samples' synthetic Poisson-Gaussian noise (``SAMPLE_SHOT``, ``SAMPLE_READ``)."""
    from pngan.noise import add_poisson_gaussian

    return add_poisson_gaussian(clean, rng, shot=SAMPLE_SHOT, read=SAMPLE_READ)
