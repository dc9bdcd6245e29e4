"""Small folders of good images for the corpus tests: a flat folder, and a noisy/clean paired set."""

from __future__ import annotations

from pathlib import Path

from corpus import good_image


def flat_images(folder: Path, n: int = 2, size: tuple[int, int] = (24, 32)) -> Path:
    """``n`` good images ``img0.png``... of ``size`` (height, width) in ``folder``."""
    for i in range(n):
        good_image(folder / f"img{i}.png", *size, seed=i)
    return folder


def paired_images(root: Path, n: int = 2) -> Path:
    """``root/noisy`` and ``root/clean`` with ``n`` good pairs ``00.png``..."""
    for i in range(n):
        good_image(root / "noisy" / f"{i:02d}.png", seed=i)
        good_image(root / "clean" / f"{i:02d}.png", seed=10 + i)
    return root
