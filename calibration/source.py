"""One calibration source: random crops of a folder (or the shipped samples), with the noise asked for."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pngan.errors import ImageError, PnganError
from pngan.io.images import list_images, read_image

DEFAULT_SAMPLES = 32
DEFAULT_CROP = (128, 128)
NOISES = ("none", "poisson-gaussian", "awgn")
FLAT_STD = 0.5 / 255  # an image whose pixels vary less than this is one flat colour


@dataclass(frozen=True)
class CalibrationSource:
    """Deterministic calibration crops: ``(input, target)`` pairs of ``1 x 3 x H x W`` float32.

    ``folder=None`` uses the shipped (clean) sample images. ``noise`` is what is added to
    each crop: ``"none"`` (the images are the network's real input, e.g. noisy photos),
    ``"poisson-gaussian"`` (random realistic camera-noise parameters: a clean set for a
    denoiser) or ``"awgn"`` (``sigma`` on the 0-255 scale: a generator's clean + AWGN
    input, clipped to [0, 1] as every runner requires); ``True``/``False`` mean
    Poisson-Gaussian/none. With ``paired`` the folder is a noisy/clean root
    (``input/`` + ``groundtruth/``...): crops come from its noisy images and their targets
    from the clean ones at the same place. The target is the clean crop (what accuracy
    control and validation compare with); ``has_targets`` says whether it is one.

    Bad folders fail with one line: fewer than ``min_images`` images, an image smaller
    than the crop, one flat colour (shipped samples smaller than the crop are padded).
    """

    folder: str | os.PathLike | None = None
    samples: int = DEFAULT_SAMPLES
    crop: tuple[int, int] = DEFAULT_CROP
    noise: str | bool = "poisson-gaussian"
    seed: int = 0
    sigma: float = 0.0
    paired: bool = False
    min_images: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.noise, bool):
            object.__setattr__(self, "noise", "poisson-gaussian" if self.noise else "none")
        if self.noise not in NOISES:
            raise PnganError(f"unknown calibration noise {self.noise!r}; choose one of: {', '.join(NOISES)}")
        if self.samples < 1:
            raise PnganError(f"--calib-samples must be >= 1, got {self.samples}")
        if len(self.crop) != 2 or min(self.crop) < 1:
            raise PnganError(f"calibration crop must be two sizes >= 1, got {self.crop}")
        if self.noise == "awgn" and not self.sigma > 0:
            raise PnganError(f"AWGN calibration needs a sigma > 0, got {self.sigma}")
        if self.paired and self.folder is None:
            raise PnganError("paired calibration needs a folder")

    @property
    def has_targets(self) -> bool:
        """Whether the targets are clean images (added noise or a paired folder), not the inputs themselves."""
        return self.paired or self.noise != "none"

    @cached_property
    def files(self) -> list[tuple[Path, Path | None]]:
        """``(input file, clean file or None)`` per image (``ImageError`` for a missing or empty folder)."""
        if self.folder is None:
            from pngan.assets.samples import SAMPLES, sample_path

            return [(sample_path(n), None) for n in SAMPLES]
        if self.paired:
            from pngan.data import find_pairs

            return [(p.noisy, p.clean) for p in find_pairs(self.folder)]
        return [(f, None) for f in list_images(self.folder)]

    @staticmethod
    def _decode(f: Path) -> np.ndarray:
        try:
            return read_image(f)
        except ImageError as e:
            raise ImageError(f"calibration folder: {e}") from None

    def _check(self, f: Path, img: np.ndarray) -> None:
        (h, w), (ch, cw) = img.shape[:2], self.crop
        if self.folder is not None and (h < ch or w < cw):
            raise ImageError(f"calibration folder: {f.name} is {w}x{h}, smaller than the {cw}x{ch} calibration "
                             f"crop (the export resolution: --opt-shape or --input-shape); use larger images "
                             f"or a smaller shape")
        if float(img.std()) < FLAT_STD:
            raise ImageError(f"calibration folder: {f.name} is one flat colour; calibrate on photos with content")

    @cached_property
    def _images(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Every image decoded first (an unreadable file is named before any other problem), then checked."""
        files = self.files
        if len(files) < self.min_images:
            raise ImageError(f"calibration folder {self.folder} holds {len(files)} image(s); INT8 calibration "
                             f"needs at least {self.min_images} different photos (or fewer --calib-samples)")
        decoded = [(f, self._decode(f), c, None if c is None else self._decode(c)) for f, c in files]
        out = []
        for f, img, c, clean in decoded:
            self._check(f, img)
            if clean is not None:
                self._check(c, clean)
                if clean.shape != img.shape:
                    raise ImageError(f"calibration folder: {f.name} and its clean {c.name} differ in size")
            out.append((img, clean))
        return out

    @cached_property
    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """All ``(input, target)`` crops, computed once; same seed -> same arrays."""
        from pngan.noise import add_poisson_gaussian

        rng = np.random.default_rng(self.seed)
        imgs, (h, w) = self._images, self.crop
        out = []
        for _ in range(self.samples):
            img, clean = imgs[int(rng.integers(len(imgs)))]
            img, clean = _pad(img, h, w), None if clean is None else _pad(clean, h, w)
            y, x = int(rng.integers(img.shape[0] - h + 1)), int(rng.integers(img.shape[1] - w + 1))
            crop = np.ascontiguousarray(img[y:y + h, x:x + w])
            target = crop if clean is None else np.ascontiguousarray(clean[y:y + h, x:x + w])
            if self.noise == "poisson-gaussian":
                crop = add_poisson_gaussian(crop, rng)
            elif self.noise == "awgn":
                crop = np.clip(crop + (self.sigma / 255.0) * rng.standard_normal(crop.shape), 0, 1)
            out.append((_nchw(crop), _nchw(target)))
        return out

    def inputs(self) -> list[np.ndarray]:
        """The network inputs, each ``1 x 3 x H x W``."""
        return [x for x, _ in self.pairs]

    def describe(self) -> str:
        """One line saying what the crops are (printed by ``pngan-export``)."""
        where = "the shipped sample images" if self.folder is None else str(self.folder)
        what = {"none": "used as they are (no noise added)",
                "poisson-gaussian": "with synthetic Poisson-Gaussian noise added (random realistic parameters)",
                "awgn": f"clean + AWGN sigma {self.sigma:g}/255 (the generator's input)"}[self.noise]
        pairs = "; clean targets from the paired folder" if self.paired else ""
        return f"{self.samples} crops {self.crop[1]}x{self.crop[0]} of {where}, {what}{pairs}"

    def summary(self) -> dict[str, Any]:
        """What the manifest records about the calibration data."""
        noise = {"none": "none", "poisson-gaussian": "poisson-gaussian (random realistic parameters)",
                 "awgn": f"awgn sigma {self.sigma:g}/255"}[self.noise]
        return {"source": "shipped samples" if self.folder is None else str(self.folder),
                "images": len(self.files), "samples": self.samples, "crop": list(self.crop),
                "noise": noise, "paired": self.paired, "seed": self.seed}


def _pad(img: np.ndarray, h: int, w: int) -> np.ndarray:
    ph, pw = max(h - img.shape[0], 0), max(w - img.shape[1], 0)
    if not (ph or pw):
        return img
    mode = "reflect" if ph < img.shape[0] and pw < img.shape[1] else "edge"
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode=mode)


def _nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
