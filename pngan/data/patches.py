"""Training patches: aligned random crops + dihedral augmentation, one decode per file per epoch.

Decoding rule: item ``i`` is file ``i`` (a ``Pair`` or a clean-only path). ``__getitem__(i)``
decodes that file (both sides of a pair) once and cuts all ``patches_per_image`` crops from
that one decode, so an epoch over ``range(len(ds))`` decodes each file exactly once.
With ``patches_per_image == 1`` tensors are (3, P, P); otherwise (K, 3, P, P) stacks, which
``collate_patches`` concatenates into one (N, 3, P, P) batch.

Crops and transforms depend only on ``(seed, epoch, index)``; call ``set_epoch`` each epoch
(DataLoader workers then agree without sharing state). Images smaller than the patch raise
``ImageError``: padding would invent content (mirrored noise) the models should not learn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from pngan.data.pairs import Pair, check_pair_sizes
from pngan.errors import ImageError, PnganError
from pngan.io.images import read_image

Item = Union[Pair, str, os.PathLike]


def dihedral(img: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 dihedral transforms of an (H, W, C) image: ``rot90`` by ``k % 4``, then flip if ``k >= 4``."""
    out = np.rot90(img, k % 4, axes=(0, 1))
    return out[:, ::-1] if k >= 4 else out


def _tensor(crops: list[np.ndarray], stack: bool) -> torch.Tensor:
    arr = np.stack([c.transpose(2, 0, 1) for c in crops])
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    return t if stack else t[0]


class PatchDataset(Dataset):
    """Random aligned noisy/clean (or clean-only) patches; see the module docstring."""

    def __init__(self, items: Sequence[Item], patch_size: int, patches_per_image: int = 1,
                 seed: int = 0, augment: bool = True) -> None:
        if not items:
            raise PnganError("PatchDataset needs at least one image")
        if patch_size < 1 or patches_per_image < 1:
            raise PnganError(f"patch_size and patches_per_image must be >= 1, got {patch_size}, {patches_per_image}")
        kinds = {isinstance(it, Pair) for it in items}
        if len(kinds) > 1:
            raise PnganError("PatchDataset items must be all Pairs or all clean image paths")
        self.paired = kinds == {True}
        self.items = list(items) if self.paired else [Path(it) for it in items]
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.seed = seed
        self.augment = augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the crops of ``epoch`` (deterministic given the seed)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _windows(self, h: int, w: int, index: int, name: str) -> list[tuple[int, int, int]]:
        p = self.patch_size
        if h < p or w < p:
            raise ImageError(f"{name}: image is {w}x{h}, smaller than the {p}x{p} patch")
        rng = self._rng(index)
        out = []
        for _ in range(self.patches_per_image):
            y = int(rng.integers(0, h - p + 1))
            x = int(rng.integers(0, w - p + 1))
            k = int(rng.integers(0, 8)) if self.augment else 0
            out.append((y, x, k))
        return out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.items[index]
        p, stack = self.patch_size, self.patches_per_image > 1
        if self.paired:
            noisy, clean = read_image(item.noisy), read_image(item.clean)
            check_pair_sizes(noisy, clean, item)
            images = {"noisy": noisy, "clean": clean}
            name = str(item.noisy)
        else:
            images = {"clean": read_image(item)}
            name = str(item)
        h, w = images["clean"].shape[:2]
        wins = self._windows(h, w, index, name)
        return {key: _tensor([dihedral(img[y:y + p, x:x + p], k) for y, x, k in wins], stack)
                for key, img in images.items()}


def collate_patches(batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """DataLoader ``collate_fn``: concatenate (3, P, P) or (K, 3, P, P) items into (N, 3, P, P)."""
    return {key: torch.cat([b[key] if b[key].dim() == 4 else b[key][None] for b in batch])
            for key in batch[0]}
