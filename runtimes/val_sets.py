"""Validation pairs that an export or a parity run scores per folder: the denoised-PSNR change from torch.

The check an INT8 export ends with must not run on the crops it was calibrated on (they agree with the
activation ranges by construction). By default it scores the shipped samples at three noise levels, from light
DSLR noise to phone-level noise (``DEFAULT_LEVELS``); ``--val-pairs DIR`` (repeatable) scores real pairs
instead. Each folder's drop is judged against a budget (``--max-drop``); the worst folder decides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from pngan.errors import PnganError

VAL_MAX_IMAGES = 32  # pairs scored per folder (sorted by id, the first ones)
VAL_MAX_SIDE = 1024  # larger images are scored on their centre crop of this size
# (name, what, noise): the shipped samples at a DSLR level (PolyU ~4.6/255), the samples' own level, a phone's
DEFAULT_LEVELS = (("samples:dslr", "Poisson-Gaussian, std ~4/255", ("pg", 6e-4, 4e-5)),
                  ("samples:mid", "Poisson-Gaussian, std ~11/255", ("pg", 4e-3, 2e-4)),
                  ("samples:phone", "fitted phone noise, std ~22/255", ("phone", 18.0, None)))


@dataclass(frozen=True)
class ValSet:
    """One validation folder: ``(id, noisy, clean)`` float images (H, W, 3) and where they come from."""

    name: str
    items: tuple[tuple[str, np.ndarray, np.ndarray], ...]
    source: str

    @property
    def noise_std(self) -> float:
        """Std of ``noisy - clean`` over the set, 0-255."""
        return float(np.sqrt(np.mean([np.mean((n - c) ** 2) for _, n, c in self.items])) * 255.0)


@dataclass(frozen=True)
class FolderDrop:
    """The denoised PSNR of torch and of the artifact on one validation folder (paper metric, dB)."""

    name: str
    images: int
    noise_std: float
    torch_db: float
    artifact_db: float
    noisy_db: float

    @property
    def delta_db(self) -> float:
        return self.artifact_db - self.torch_db

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.name, "images": self.images, "noise_std": round(self.noise_std, 2),
                "noisy_db": round(self.noisy_db, 3), "torch_db": round(self.torch_db, 3),
                "artifact_db": round(self.artifact_db, 3), "delta_db": round(self.delta_db, 3)}


def _noisy(clean: np.ndarray, rng: np.random.Generator, noise: tuple) -> np.ndarray:
    from pngan.noise import add_poisson_gaussian
    from pngan.noise.phone import PhoneNoiseParams, add_phone_noise

    kind, a, b = noise
    if kind == "pg":
        return add_poisson_gaussian(clean, rng, shot=a, read=b).astype(np.float32)
    return add_phone_noise(clean, rng, PhoneNoiseParams(a))


def default_val_sets(seed: int = 0) -> list[ValSet]:
    """The shipped samples at each of ``DEFAULT_LEVELS`` (seeded synthetic noise, not real camera noise)."""
    from pngan.assets.samples import SAMPLES, sample_image

    out = []
    for i, (name, what, noise) in enumerate(DEFAULT_LEVELS):
        rng = np.random.default_rng([seed, i])
        items = tuple((s, _noisy(sample_image(s), rng, noise), sample_image(s)) for s in SAMPLES)
        out.append(ValSet(name, items, f"shipped samples ({', '.join(SAMPLES)}) + {what}"))
    return out


def centre_crop(img: np.ndarray, side: int) -> np.ndarray:
    """The centre ``side`` x ``side`` crop of an (H, W, C) image (the whole side where it is shorter)."""
    h, w = img.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(img[y:y + side, x:x + side])


def folder_val_set(root: str | os.PathLike) -> ValSet:
    """The pairs of ``root`` (``find_pairs`` layouts): unpaired names or sizes that differ fail in one line."""
    from pngan.runtimes.parity_data import folder_pairs

    path = Path(root)
    if not path.is_dir():
        raise PnganError(f"--val-pairs {path}: no such folder")
    try:
        pairs = folder_pairs(path, limit=VAL_MAX_IMAGES)
    except PnganError as e:
        raise type(e)(f"--val-pairs {path}: {e}") from None
    items = tuple((i, centre_crop(n, VAL_MAX_SIDE), centre_crop(c, VAL_MAX_SIDE)) for i, n, c in pairs.items)
    return ValSet(_short(path), items, pairs.source)


def _short(path: Path) -> str:
    """``sidd12/val`` for ``.../sidd12/val``: the last two parts name a folder well enough in one line."""
    return "/".join(path.resolve().parts[-2:])


def val_sets_for(folders: Sequence[str | os.PathLike] | None, seed: int = 0) -> list[ValSet]:
    """``folder_val_set`` of each folder (duplicates refused), or the ``default_val_sets`` when none is given."""
    if not folders:
        return default_val_sets(seed)
    seen = [Path(f).resolve() for f in folders]
    if len(set(seen)) != len(seen):
        raise PnganError(f"--val-pairs given twice: {' '.join(str(f) for f in folders)}")
    return [folder_val_set(f) for f in folders]


def score_sets(sets: Sequence[ValSet],
               outputs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> list[FolderDrop]:
    """``FolderDrop`` of each set; ``outputs(x)`` gives torch's and the artifact's ``1x3xHxW`` outputs."""
    from pngan.io.images import from_tensor_batch
    from pngan.metrics import psnr_paper

    out = []
    for s in sets:
        dbs = []
        for _, noisy, clean in s.items:
            x = np.ascontiguousarray(noisy.transpose(2, 0, 1)[None], dtype=np.float32)
            dbs.append([psnr_paper(from_tensor_batch(y), clean) for y in outputs(x)] + [psnr_paper(noisy, clean)])
        t, a, n = np.mean(np.asarray(dbs), axis=0)
        out.append(FolderDrop(s.name, len(s.items), s.noise_std, float(t), float(a), float(n)))
    return out


def worst(drops: Sequence[FolderDrop]) -> FolderDrop:
    """The folder that lost most."""
    return min(drops, key=lambda d: d.delta_db)
