"""One calibration source: random crops of a folder (or the shipped samples), optionally noisy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pngan.errors import ImageError, PnganError
from pngan.images import list_images, read_image

DEFAULT_SAMPLES = 32
DEFAULT_CROP = (128, 128)


@dataclass(frozen=True)
class CalibrationSource:
    """Deterministic calibration crops: ``(noisy, clean)`` pairs of ``1 x 3 x H x W`` float32.

    ``folder=None`` uses the shipped sample images. Images smaller than the crop are
    reflect-padded. With ``noise=True`` (a denoiser's inputs) each crop gets
    Poisson-Gaussian noise with randomly sampled realistic parameters; the clean crop
    is kept as the target for accuracy-controlled quantization.
    """

    folder: str | os.PathLike | None = None
    samples: int = DEFAULT_SAMPLES
    crop: tuple[int, int] = DEFAULT_CROP
    noise: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise PnganError(f"--calib-samples must be >= 1, got {self.samples}")
        if len(self.crop) != 2 or min(self.crop) < 1:
            raise PnganError(f"calibration crop must be two sizes >= 1, got {self.crop}")

    @property
    def files(self) -> list[Path]:
        """The image files the crops come from (``ImageError`` for a missing or empty folder)."""
        if self.folder is None:
            from pngan.samples import SAMPLES, sample_path

            return [sample_path(n) for n in SAMPLES]
        return list_images(self.folder)

    @cached_property
    def _images(self) -> list[np.ndarray]:
        imgs = []
        for f in self.files:
            try:
                imgs.append(read_image(f))
            except ImageError as e:
                raise ImageError(f"calibration folder: {e}") from None
        return imgs

    @cached_property
    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """All ``(input, clean)`` crops, computed once; same seed -> same arrays."""
        from pngan.noise import add_poisson_gaussian

        rng = np.random.default_rng(self.seed)
        imgs, (h, w) = self._images, self.crop
        out = []
        for _ in range(self.samples):
            img = imgs[int(rng.integers(len(imgs)))]
            ph, pw = max(h - img.shape[0], 0), max(w - img.shape[1], 0)
            if ph or pw:
                img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect" if ph < img.shape[0] and pw < img.shape[1] else "edge")
            y, x = int(rng.integers(img.shape[0] - h + 1)), int(rng.integers(img.shape[1] - w + 1))
            clean = np.ascontiguousarray(img[y:y + h, x:x + w])
            noisy = add_poisson_gaussian(clean, rng) if self.noise else clean
            out.append((_nchw(noisy), _nchw(clean)))
        return out

    def inputs(self) -> list[np.ndarray]:
        """The network inputs (noisy crops if ``noise``), each ``1 x 3 x H x W``."""
        return [x for x, _ in self.pairs]

    def summary(self) -> dict[str, Any]:
        """What the manifest records about the calibration data."""
        return {"source": "shipped samples" if self.folder is None else str(self.folder),
                "images": len(self.files), "samples": self.samples, "crop": list(self.crop),
                "noise": "poisson-gaussian (random realistic parameters)" if self.noise else "none",
                "seed": self.seed}


def _nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
