"""Training batches: every file decoded once into RAM (uint8), crops drawn per step from ``(seed, rank, step)``.

Because a step's batch depends only on ``(seed, rank, step)``, resuming at step
``s`` sees exactly the batches an uninterrupted run would, and different ranks
see different crops (a distributed sampler without shared state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from pngan.data.pairs import Pair, check_pair_sizes, find_pairs
from pngan.errors import PnganError
from pngan.io.images import read_image, to_uint8


def step_generator(seed: int, rank: int, step: int, stream: int = 0,
                   device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator (on ``device``) that depends only on its arguments."""
    mixed = np.random.SeedSequence([seed, rank, step, stream]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(mixed) & ((1 << 63) - 1))


class CropBank(Dataset):
    """Images (noisy/clean pairs or clean only) held as uint8 tensors; item ``step`` = that step's batch."""

    def __init__(self, pairs: Sequence[Pair] | None = None, clean: Sequence[Path] | None = None,
                 patch: int = 64, batch: int = 8, seed: int = 0, rank: int = 0, align: int = 1) -> None:
        if align < 1 or (align > 1 and patch % align):
            raise PnganError(f"data.crop_align must be >= 1 and divide data.patch ({patch}), got {align}")
        self.patch, self.batch, self.seed, self.rank, self.align = patch, batch, seed, rank, align
        self.noisy: list[torch.Tensor] = []
        self.clean: list[torch.Tensor] = []
        self.cond: torch.Tensor | None = None  # (images, D) per-image conditioning (a generator's fingerprint)
        seen: dict[tuple[Path, Path], int] = {}  # a pair listed K times (``PATH*K``) is read and held once
        for p in pairs or []:
            if (p.noisy, p.clean) in seen:
                i = seen[(p.noisy, p.clean)]
                self.clean.append(self.clean[i])
                self.noisy.append(self.noisy[i])
                continue
            n, c = read_image(p.noisy), read_image(p.clean)
            check_pair_sizes(n, c, p)
            seen[(p.noisy, p.clean)] = len(self.clean)
            self._add(c, n, p.id)
        for f in clean or []:
            self._add(read_image(f), None, Path(f).name)
        if not self.clean:
            raise PnganError("no training images (the dataset folder has no pairs)")
        self.paired = bool(self.noisy)

    def _add(self, clean: np.ndarray, noisy: np.ndarray | None, name: str) -> None:
        if min(clean.shape[:2]) < self.patch:
            raise PnganError(f"{name}: image {clean.shape[1]}x{clean.shape[0]} is smaller than patch {self.patch}")
        self.clean.append(torch.from_numpy(to_uint8(clean)).permute(2, 0, 1).contiguous())
        if noisy is not None:
            self.noisy.append(torch.from_numpy(to_uint8(noisy)).permute(2, 0, 1).contiguous())

    @property
    def on_device(self) -> bool:
        """Whether the images are held on an accelerator (then crops are cut there, without pinning)."""
        return self.clean[0].device.type != "cpu"

    def to(self, device: torch.device | str) -> "CropBank":
        """Move the uint8 images to ``device``; crops are then cut and converted there."""
        self.clean = [t.to(device) for t in self.clean]
        self.noisy = [t.to(device) for t in self.noisy]
        self.cond = None if self.cond is None else self.cond.to(device)
        return self

    def __len__(self) -> int:
        return 1 << 62

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        g = step_generator(self.seed, self.rank, step)
        p = self.patch
        clean, noisy, index = [], [], []
        for _ in range(self.batch):
            i = int(torch.randint(len(self.clean), (1,), generator=g))
            index.append(i)
            h, w = self.clean[i].shape[1:]
            a = self.align  # rotations and flips of an aligned crop keep the grid aligned (a divides p)
            top = a * int(torch.randint((h - p) // a + 1, (1,), generator=g))
            left = a * int(torch.randint((w - p) // a + 1, (1,), generator=g))
            k = int(torch.randint(8, (1,), generator=g))
            for src, dst in ((self.clean, clean), (self.noisy, noisy)):
                if not src:
                    continue
                crop = torch.rot90(src[i][:, top:top + p, left:left + p], k % 4, (1, 2))
                dst.append(crop.flip(2) if k >= 4 else crop)
        out = {"clean": torch.stack(clean).float() / 255.0}
        if self.cond is not None:
            out["cond"] = self.cond[torch.tensor(index)]
        if noisy:
            out["noisy"] = torch.stack(noisy).float() / 255.0
        return out


def folder_and_repeat(entry: str, key: str) -> tuple[str, int]:
    """``"PATH"`` -> ``(PATH, 1)``; ``"PATH*K"`` -> ``(PATH, K)``: a folder whose pairs are taken K times."""
    path, star, k = str(entry).rpartition("*")
    if not star:
        return str(entry), 1
    if not k.isdigit() or int(k) < 1 or not path:
        raise PnganError(f"{key}: {entry!r}: write PATH or PATH*K with a whole number K >= 1")
    return path, int(k)


def training_pairs(train_dir: str, more: Sequence[str] = ()) -> list[Pair]:
    """Stages denoiser's and pngan's pairs: those of ``data.train_dir`` and of each ``data.train_more`` folder, a
    folder named ``PATH*K`` K times over (uniform sampling over the list then weights that folder K times)."""
    out: list[Pair] = []
    for key, entry in [("data.train_dir", train_dir), *(("data.train_more", e) for e in more)]:
        folder, k = folder_and_repeat(entry, key)
        if not folder:
            raise PnganError(f"{key} is not set (a folder with input/ and groundtruth/)")
        try:
            pairs = find_pairs(folder)
        except PnganError as e:
            raise PnganError(f"{key}: {e}") from None
        if not pairs:
            raise PnganError(f"{key}={folder}: the folder has no noisy/clean pairs")
        out += list(pairs) * k
    return out


def step_loader(bank: CropBank, start: int, stop: int, workers: int = 0, pin_memory: bool = False):
    """A DataLoader over steps ``start..stop-1`` (one batch per step, prefetched by workers)."""
    return torch.utils.data.DataLoader(bank, batch_size=None, sampler=range(start, stop), num_workers=workers,
                                       pin_memory=pin_memory, persistent_workers=False)
