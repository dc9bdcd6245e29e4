"""Which calibration data an INT8 export uses: the model's real input, unless asked otherwise.

A denoiser's real input is a noisy photo: a ``--calib-dir`` of photos is used as it is.
Synthetic noise is added only when asked (``--calib-noise``) or when the data are clean
(the shipped samples, a folder named like a clean set: ``groundtruth``, ``clean``, ``gt``...).
A paired root (``input/`` + ``groundtruth/``, as ``pngan denoise`` reads) gives noisy crops
with their clean targets; a noisy folder whose sibling is its clean folder is used the same way.
A generator's input is clean + AWGN at its ``input_sigma``: that is what it is calibrated on
(the clean half of a paired root).
"""

from __future__ import annotations

import os
from pathlib import Path

from pngan.calibration.source import DEFAULT_SAMPLES, NOISES, CalibrationSource
from pngan.errors import PnganError

CLEAN_NAMES = frozenset({"groundtruth", "ground_truth", "gt", "clean", "target", "targets", "mean", "sharp"})
NOISE_CHOICES = ("auto", *NOISES)
MIN_CALIB_IMAGES = 4  # different photos a user folder must hold (or --calib-samples, if fewer)


def _paired_root(folder: Path) -> Path | None:
    """``folder`` itself when it is a paired root, its parent when ``folder`` is the noisy half of one."""
    from pngan.data.pairs import LAYOUTS

    for root in (folder, folder.parent):
        for noisy, clean in LAYOUTS:
            if (root / noisy).is_dir() and (root / clean).is_dir() and (root == folder or folder.name == noisy):
                return root
    return None


def _clean_half(folder: Path) -> Path | None:
    from pngan.data.pairs import LAYOUTS

    for noisy, clean in LAYOUTS:
        if (folder / noisy).is_dir() and (folder / clean).is_dir():
            return folder / clean
    return None


def _pairs_ok(root: Path) -> bool:
    from pngan.data import find_pairs

    try:
        return bool(find_pairs(root))
    except PnganError:
        return False


def parse_noise(value: str) -> tuple[str, float | None]:
    """``auto``, ``none``, ``poisson-gaussian``, ``awgn`` or ``awgn:SIGMA`` -> (model, sigma or None)."""
    v = value.strip().lower().replace("_", "-")
    sigma = None
    if v.startswith("awgn:"):
        v, s = "awgn", v.split(":", 1)[1]
        try:
            sigma = float(s)
        except ValueError:
            raise PnganError(f"--calib-noise awgn:SIGMA needs a number, got {s!r}") from None
        if not sigma > 0:
            raise PnganError(f"--calib-noise awgn:SIGMA needs SIGMA > 0 (0-255 scale), got {s}")
    if v not in NOISE_CHOICES:
        raise PnganError(f"unknown --calib-noise {value!r}; choose one of: {', '.join(NOISE_CHOICES)}, awgn:SIGMA")
    return v, sigma


def choose_calibration(folder: str | os.PathLike | None, *, generator: bool, noise: str = "auto",
                       input_sigma: float = 5.0, samples: int = DEFAULT_SAMPLES, crop: tuple[int, int] = (256, 256),
                       seed: int = 0) -> CalibrationSource:
    """The ``CalibrationSource`` an export of a denoiser (or ``generator``) calibrates on (see module doc)."""
    model, sigma = parse_noise(noise)
    path = Path(folder) if folder is not None else None
    if path is not None and not path.is_dir():
        raise PnganError(f"--calib-dir {path}: no such folder")
    min_images = min(MIN_CALIB_IMAGES, samples) if path is not None else 1
    kw = dict(samples=samples, crop=tuple(crop), seed=seed, min_images=min_images)
    if generator:
        if model not in ("auto", "awgn"):
            raise PnganError(f"a generator is calibrated on clean + AWGN (its input); --calib-noise {model} "
                             f"does not apply")
        clean = _clean_half(path) if path is not None else None
        return CalibrationSource(clean or path, noise="awgn", sigma=sigma or input_sigma, **kw)
    if model == "awgn" and sigma is None:
        raise PnganError("--calib-noise awgn needs a level for a denoiser: awgn:SIGMA (0-255 scale)")
    root = _paired_root(path) if path is not None else None
    if model == "auto":
        if path is None or path.name.lower() in CLEAN_NAMES:
            model = "poisson-gaussian"
        else:
            model = "none"
    if root is not None and model == "none" and _pairs_ok(root):
        return CalibrationSource(root, noise="none", paired=True, **kw)
    if root is not None and path == root:  # noise asked on a paired root: add it to the clean half
        path = _clean_half(root)
    return CalibrationSource(path, noise=model, sigma=sigma or 0.0, **kw)
