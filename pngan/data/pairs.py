"""Noisy/clean image pairs from a test-set folder (``input/`` + ``groundtruth/`` and friends).

Pairing rule (``pair_files``):

1. Each file gets a *key*: its name stem (extension ignored, so ``x_real.JPG`` pairs
   with ``x_mean.png``) with one role token removed. Stems are split on ``_`` and the
   last token naming the role (case-insensitive) is dropped: noisy ``real`` / ``noisy``
   (PolyU and Nam ``*_real``, SIDD ``*_NOISY_*``), clean ``mean`` / ``gt`` / ``clean``
   / ``groundtruth`` (``*_mean``, ``*_GT_*``). Names without a token are kept as they are,
   so identical names pair too. The key is the pair's ``id``.
2. If every noisy key has exactly one clean key and vice versa, pairs follow the keys.
3. Sorted-order fallback, only with ``allow_sorted=True`` (``find_pairs`` sets it for the
   official ``input/`` + ``groundtruth/`` layout): when *no* key matches and both sides
   have the same count, the sorted lists are paired by position, provided every position
   carries the same number sequence in both names (``NoisyImg_3`` with ``MeanImg_3``).
   The id is then the noisy stem.
4. Anything else (different counts, some names unmatched, duplicate keys) is a
   ``PnganError`` naming the first unmatched files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pngan.errors import ImageError, PnganError
from pngan.io.images import list_images

# (noisy folder, clean folder); the first is the official PNGAN test layout.
LAYOUTS: tuple[tuple[str, str], ...] = (("input", "groundtruth"), ("noisy", "clean"), ("input", "target"))
NOISY_TOKENS = frozenset({"real", "noisy"})
CLEAN_TOKENS = frozenset({"mean", "gt", "clean", "groundtruth"})


@dataclass(frozen=True)
class Pair:
    """One noisy image and its clean reference."""

    id: str
    noisy: Path
    clean: Path


def pair_key(path: Path, tokens: frozenset[str]) -> str:
    """The stem of ``path`` without its last role token (see the module docstring)."""
    parts = path.stem.split("_")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].lower() in tokens and len(parts) > 1:
            return "_".join(parts[:i] + parts[i + 1:])
    return path.stem


def result_stems(files: Sequence[Path], tokens: frozenset[str], role: str) -> list[str]:
    """The stem each file's result is written under: its own without its ``role`` token (:func:`pair_key`;
    ``x_NOISY.png`` denoised, ``x_GT.png`` noised -> ``x``); ``PnganError`` when two files would share one."""
    seen: dict[str, Path] = {}
    for f in files:
        stem = pair_key(f, tokens)
        if stem in seen:
            raise PnganError(f"{seen[stem].name} and {f.name} would both be written as {stem!r} "
                             f"(the {role} role token is dropped from result names); rename one")
        seen[stem] = f
    return list(seen)


def _keyed(files: Sequence[Path], tokens: frozenset[str], side: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        k = pair_key(f, tokens)
        if k in out:
            raise PnganError(f"{side} images {out[k].name} and {f.name} have the same name key {k!r}")
        out[k] = f
    return out


def _numbers(path: Path) -> tuple[str, ...]:
    return tuple(str(int(n)) for n in re.findall(r"\d+", path.stem))


def _first(names: list[str]) -> str:
    return names[0] if names else "-"


def pair_files(noisy: Sequence[Path], clean: Sequence[Path], allow_sorted: bool = False) -> list[Pair]:
    """Pair two file lists by name key (sorted-order fallback per the module rule)."""
    nk = _keyed(noisy, NOISY_TOKENS, "noisy")
    ck = _keyed(clean, CLEAN_TOKENS, "clean")
    if nk.keys() == ck.keys():
        return [Pair(k, nk[k], ck[k]) for k in sorted(nk)]
    ns, cs = sorted(noisy, key=lambda p: p.name), sorted(clean, key=lambda p: p.name)
    if (allow_sorted and not (nk.keys() & ck.keys()) and len(ns) == len(cs)
            and all(_numbers(a) and _numbers(a) == _numbers(b) for a, b in zip(ns, cs))):
        return [Pair(a.stem, a, b) for a, b in zip(ns, cs)]
    lone_n = sorted(nk[k].name for k in nk.keys() - ck.keys())
    lone_c = sorted(ck[k].name for k in ck.keys() - nk.keys())
    raise PnganError(
        f"cannot pair {len(noisy)} noisy with {len(clean)} clean images: "
        f"unmatched noisy {_first(lone_n)} ({len(lone_n)} in all), "
        f"unmatched clean {_first(lone_c)} ({len(lone_c)} in all)")


def find_layout(root: str | os.PathLike) -> tuple[Path, Path]:
    """The (noisy, clean) folders under ``root``, trying ``LAYOUTS`` in order."""
    r = Path(root)
    if not r.is_dir():
        raise PnganError(f"{r}: no such folder")
    for n, c in LAYOUTS:
        if (r / n).is_dir() and (r / c).is_dir():
            return r / n, r / c
    tried = ", ".join(f"{n}/+{c}/" for n, c in LAYOUTS)
    raise PnganError(f"{r}: no noisy/clean folders (expected one of {tried})")


def find_pairs(root: str | os.PathLike) -> list[Pair]:
    """Noisy/clean pairs of a test set at ``root``, sorted by id (see the module docstring)."""
    nd, cd = find_layout(root)
    official = (nd.name, cd.name) == LAYOUTS[0]
    return pair_files(list_images(nd), list_images(cd), allow_sorted=official)


def check_pair_sizes(noisy_img: np.ndarray, clean_img: np.ndarray, pair: Pair) -> None:
    """``ImageError`` unless both decoded images have the same height and width."""
    if noisy_img.shape[:2] != clean_img.shape[:2]:
        (nh, nw), (ch, cw) = noisy_img.shape[:2], clean_img.shape[:2]
        raise ImageError(f"{pair.id}: noisy {pair.noisy.name} is {nw}x{nh} but clean "
                         f"{pair.clean.name} is {cw}x{ch}")
