"""SIDD: SIDD-Medium scene folders and the validation/benchmark ``.mat`` block files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from pngan.data.matfile import is_mat73, load_mat_v5, mat_variable, open_mat73
from pngan.data.pairs import Pair
from pngan.errors import PnganError
from pngan.io.images import IMAGE_SUFFIXES

BLOCK_KEYS = ("ValidationNoisyBlocksSrgb", "ValidationGtBlocksSrgb", "BenchmarkNoisyBlocksSrgb")
_SCENE_FILE = re.compile(r"^(?P<prefix>.+)_(?P<kind>NOISY|GT)_SRGB_(?P<n>\d+)$", re.IGNORECASE)


def sidd_medium_pairs(root: str | os.PathLike) -> list[Pair]:
    """Pairs of SIDD-Medium ``root/<scene>/<prefix>_{NOISY,GT}_SRGB_<n>.PNG``; id ``<scene>_<n>``."""
    r = Path(root)
    if not r.is_dir():
        raise PnganError(f"{r}: no such folder")
    pairs: list[Pair] = []
    for scene in sorted(d for d in r.iterdir() if d.is_dir()):
        found: dict[str, dict[str, Path]] = {}
        for f in sorted(scene.iterdir()):
            m = _SCENE_FILE.match(f.stem)
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and m:
                found.setdefault(m["n"], {})[m["kind"].upper()] = f
        for n in sorted(found):
            sides = found[n]
            if len(sides) != 2:
                have = next(iter(sides.values()))
                missing = "GT" if "NOISY" in sides else "NOISY"
                raise PnganError(f"{have}: no matching {missing}_SRGB_{n} image in {scene.name}")
            pairs.append(Pair(f"{scene.name}_{n}", sides["NOISY"], sides["GT"]))
    if not pairs:
        raise PnganError(f"{r}: no SIDD scene folders with *_NOISY_SRGB_*/*_GT_SRGB_* images")
    return pairs


def load_sidd_blocks(mat_path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """uint8 blocks (N_img, N_blk, H, W, 3) from a SIDD ``.mat`` (``key`` defaults to the stem).

    MAT v5 files are read with scipy; v7.3 (HDF5) ones with h5py, which must be installed.
    """
    p = Path(mat_path)
    if p.is_file() and is_mat73(p):
        with open_mat73(p) as f:
            names = list(f.keys())
            k = key or (p.stem if p.stem in names else (names[0] if len(names) == 1 else None))
            if k not in names:
                raise PnganError(f"{p}: no variable {k or key!r} (variables: {', '.join(names)})")
            arr = np.asarray(f[k]).T  # HDF5 stores MATLAB arrays column-major: reverse the axes
    else:
        arr = mat_variable(load_mat_v5(p), key, p)
    arr = np.asarray(arr)
    if arr.ndim != 5 or arr.shape[-1] != 3:
        raise PnganError(f"{p}: expected blocks shaped (images, blocks, H, W, 3), got {arr.shape}")
    if arr.dtype != np.uint8:
        raise PnganError(f"{p}: expected uint8 sRGB blocks, got {arr.dtype}")
    return np.ascontiguousarray(arr)


def sidd_block_pairs(noisy_mat: str | os.PathLike, gt_mat: str | os.PathLike,
                     noisy_key: str | None = None, gt_key: str | None = None,
                     ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``("<img>_<blk>", noisy, clean)`` float32 (H, W, 3) in [0, 1], 0-based indices."""
    noisy = load_sidd_blocks(noisy_mat, noisy_key)
    clean = load_sidd_blocks(gt_mat, gt_key)
    if noisy.shape != clean.shape:
        raise PnganError(f"{Path(noisy_mat).name} blocks {noisy.shape} do not match "
                         f"{Path(gt_mat).name} blocks {clean.shape}")
    for i in range(noisy.shape[0]):
        for b in range(noisy.shape[1]):
            yield (f"{i:02d}_{b:02d}", noisy[i, b].astype(np.float32) / 255.0,
                   clean[i, b].astype(np.float32) / 255.0)
