#!/usr/bin/env python
"""Synthetic phone-level validation pairs from held-out clean images (chosen before any result).

    python scripts/make_phone_val.py --clean /work/shared/data/polyu100/val/groundtruth --out runs/phone_val --seed 0

Fixed parameters (the set is defined by them; change them and it is another set):

* noise: the camera pipeline (``pngan.noise.camera``: unprocess to RGGB raw, shot/read noise on
  Brooks' log-log line, bilinear demosaic, CCM, gamma, tone curve) via
  ``pngan.train.blind.camera_noisy``, noise std at sRGB mid-gray drawn log-uniformly in
  ``SIGMA`` = [15, 40] on the 0-255 scale (small-sensor phones at high ISO);
* then JPEG (PIL, 4:2:0) at a quality drawn uniformly in ``QUALITY`` = [70, 95], always;
* ``--sigma LO HI`` replaces ``SIGMA`` for another set (DSLR-level: ``--sigma 2 8``);
* ``SAMPLES`` = 2 noisy versions of each whole clean image, each seeded by
  ``(seed, crc32(file name), k)``: the same command writes the same bytes.

Writes ``OUT/input/<key>_p<k>_real.png`` (noisy, lossless PNG of the decoded JPEG),
``OUT/groundtruth/<key>_p<k>_mean.png`` (the clean image) and ``OUT/phone_val.json`` (per pair:
sigma, quality, source file), so ``pngan denoise --input-dir OUT`` and the training stage's
``data.val_dir=OUT`` both read it. ``--clean`` is a clean folder or a paired root (its
``groundtruth/`` is used). The clean images must not be in any training set: the default recipe
uses the clean side of ``polyu100/val`` (scenes not in ``polyu100/train``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np

SIGMA = (15.0, 40.0)
QUALITY = (70, 95)
SAMPLES = 2


def draw(seed: int, name: str, k: int, sigma_range: tuple[float, float] = SIGMA
         ) -> tuple[float, int, tuple[int, int, int]]:
    """(sigma, JPEG quality, noise seed) of sample ``k`` of the image ``name``."""
    s = (int(seed), zlib.crc32(name.encode("utf-8")), int(k))
    rng = np.random.default_rng(np.random.SeedSequence([*s, 1]))
    sigma = math.exp(rng.uniform(math.log(sigma_range[0]), math.log(sigma_range[1])))
    return sigma, int(rng.integers(QUALITY[0], QUALITY[1] + 1)), s


def make(clean_dir: Path, out: Path, seed: int = 0, sigma_range: tuple[float, float] = SIGMA) -> list[dict]:
    """Write the pairs (see the module docstring); returns the per-pair records."""
    from pngan.data.clean import clean_images
    from pngan.data.pairs import CLEAN_TOKENS, pair_key
    from pngan.io.images import read_image, write_image
    from pngan.train.blind import camera_noisy

    if (clean_dir / "groundtruth").is_dir():
        clean_dir = clean_dir / "groundtruth"
    records = []
    for f in clean_images(clean_dir):
        clean = read_image(f)
        for k in range(SAMPLES):
            sigma, quality, s = draw(seed, f.name, k, sigma_range)
            noisy = camera_noisy(clean, sigma, s, quality)
            key = f"{pair_key(f, CLEAN_TOKENS)}_p{k}"
            write_image(out / "input" / f"{key}_real.png", noisy)
            write_image(out / "groundtruth" / f"{key}_mean.png", clean)
            records.append({"id": key, "source": f.name, "sigma": round(sigma, 3), "jpeg_quality": quality,
                            "seed": list(s), "psnr_noisy": _psnr(noisy, clean)})
    (out / "phone_val.json").write_text(json.dumps(
        {"clean": str(clean_dir), "seed": seed, "sigma": list(sigma_range), "jpeg_quality": QUALITY, "samples": SAMPLES,
         "pairs": records}, indent=1) + "\n")
    return records


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from pngan.metrics import psnr_paper

    return round(float(psnr_paper(a, b)), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clean", type=Path, required=True, help="held-out clean images (or a paired root)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sigma", type=float, nargs=2, default=SIGMA, metavar=("LO", "HI"),
                    help=f"noise std range at mid-gray, 0-255 (default {SIGMA[0]:g} {SIGMA[1]:g})")
    a = ap.parse_args()
    if not 0 < a.sigma[0] <= a.sigma[1]:
        sys.exit(f"error: --sigma must be 0 < LO <= HI, got {a.sigma[0]:g} {a.sigma[1]:g}")
    if a.out.exists() and any(a.out.iterdir()):
        sys.exit(f"error: {a.out} exists and is not empty; choose a new folder")
    from pngan.errors import PnganError

    try:
        recs = make(a.clean, a.out, a.seed, tuple(a.sigma))
    except PnganError as e:
        sys.exit(f"error: {e}")
    p = [r["psnr_noisy"] for r in recs]
    print(f"wrote {len(recs)} pairs to {a.out} (noisy PSNR {min(p):.2f}..{max(p):.2f} dB, mean {np.mean(p):.2f})")


if __name__ == "__main__":
    main()
