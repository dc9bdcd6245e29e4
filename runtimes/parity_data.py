"""Test data for parity and export validation: noisy/clean pairs and the crops fed to both sides."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from pngan.errors import PnganError


@dataclass
class PairSet:
    """Noisy/clean float images (H, W, 3) and where they came from."""

    items: list[tuple[str, np.ndarray, np.ndarray]]
    source: str


def synthetic_pairs(seed: int = 0) -> PairSet:
    """The shipped clean samples with seeded Poisson-Gaussian noise (not real camera noise)."""
    from pngan.assets.samples import SAMPLE_READ, SAMPLE_SHOT, SAMPLES, noisy_sample, sample_image

    rng = np.random.default_rng(seed)
    items = []
    for name in SAMPLES:
        clean = sample_image(name)
        items.append((name, noisy_sample(clean, rng), clean))
    return PairSet(items, f"shipped samples ({', '.join(SAMPLES)}) with synthetic Poisson-Gaussian noise "
                          f"(shot {SAMPLE_SHOT:g}, read {SAMPLE_READ:g}, seed {seed}); not real camera noise")


def folder_pairs(root: str | os.PathLike, limit: int | None = None) -> PairSet:
    """Real noisy/clean pairs from a paired folder (``find_pairs`` layouts)."""
    from pngan.data import find_pairs
    from pngan.data.pairs import check_pair_sizes
    from pngan.io.images import read_image

    pairs = find_pairs(root)[:limit] if limit else find_pairs(root)
    items = []
    for p in pairs:
        noisy, clean = read_image(p.noisy), read_image(p.clean)
        check_pair_sizes(noisy, clean, p)
        items.append((p.id, noisy, clean))
    if not items:
        raise PnganError(f"{root}: no image pairs")
    return PairSet(items, f"{len(items)} pairs from {root}")


def generator_input(clean: np.ndarray, ref: Any, seed: int) -> np.ndarray:
    """A generator's real input: ``clean`` + AWGN at its ``input_sigma``, clipped to [0, 1]."""
    from pngan.models.inputs import input_sigma

    model = getattr(ref, "model", None)  # TorchRunner -> InferenceModel -> the registered net
    sigma = input_sigma(getattr(model, "net", model))
    noise = np.random.default_rng(seed).standard_normal(clean.shape)
    return np.clip(clean + sigma / 255.0 * noise, 0, 1).astype(np.float32)


def hw(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(H, W)`` of a size given as one int (a square) or ``(H, W)``."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def label(size: int | tuple[int, int]) -> str:
    h, w = hw(size)
    return f"{h}x{w}"


def crop(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """``H x W`` crop (``size``: one int or ``(H, W)``) of an (H, W, 3) image, reflect-tiled when smaller."""
    (ch, cw), (h, w) = hw(size), img.shape[:2]
    if h < ch or w < cw:
        img = np.pad(img, ((0, max(0, ch - h)), (0, max(0, cw - w)), (0, 0)), mode="symmetric")
    return np.ascontiguousarray(img[:ch, :cw])
