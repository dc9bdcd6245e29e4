#!/usr/bin/env python
"""Training pairs with phone noise fitted to real phone pairs (``pngan.noise.phone``).

    python scripts/make_phone_pairs.py --fit PATH/sidd12/train --clean PATH/clean/bsds400 \
        --clean PATH/polyu100/train/groundtruth --out PHONE_PAIRS --seed 0 [--limit N] [--check PATH/sidd12/val]

1. Fits the phone noise model to ``--fit`` (real noisy/clean pairs: R/G/B level ratios, channel correlation,
   the spatial blur that gives their lag-1 autocorrelation, and the range of per-image green noise std).
2. For each clean image of every ``--clean`` folder (or paired root: its ``groundtruth/``), draws a green std
   log-uniformly in ``[lo / SPREAD, hi * SPREAD]`` of the fitted range, seeded by ``(seed, crc32(file), 0)``,
   and writes ``OUT/input/<key>_NOISY.png`` and ``OUT/groundtruth/<key>_GT.png`` (the clean image as PNG),
   so ``data.train_dir=OUT`` reads it. ``OUT/phone_pairs.json`` holds the fit and each pair's draw.
3. ``--check PAIRS`` (held-out real pairs, e.g. ``sidd12/val``): the noise statistics of the real residuals and
   of the fitted model at each image's own green level, printed before anything is trained on the pairs.

The folder is written whole or not at all (atomically); an existing non-empty ``OUT`` is refused.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np

SPREAD = 1.5  # the drawn levels reach this factor beyond the fitted range on either side


def _pairs(root: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    from pngan.data import find_pairs
    from pngan.io.images import read_image

    pairs = find_pairs(root)
    return [read_image(p.clean) for p in pairs], [read_image(p.noisy) for p in pairs], [p.id for p in pairs]


def _clean_files(folders: list[Path]) -> list[Path]:
    from pngan.data.clean import clean_images

    out = []
    for f in folders:
        out += clean_images(f / "groundtruth" if (f / "groundtruth").is_dir() else f)
    return out


def draw(seed: int, name: str, lo: float, hi: float) -> tuple[float, tuple[int, int, int]]:
    """(green std, noise seed) of the image called ``name``."""
    s = (int(seed), zlib.crc32(name.encode("utf-8")), 0)
    rng = np.random.default_rng(np.random.SeedSequence([*s, 1]))
    return math.exp(rng.uniform(math.log(lo / SPREAD), math.log(hi * SPREAD))), s


def make(fit_dir: Path, clean_dirs: list[Path], out: Path, seed: int = 0, limit: int | None = None) -> dict:
    """Fit, synthesize and write ``out`` atomically; returns the JSON record."""
    from pngan.data.pairs import CLEAN_TOKENS, pair_key
    from pngan.io.atomic import atomic_dir, write_text
    from pngan.io.images import read_image, write_image
    from pngan.metrics import psnr_paper
    from pngan.noise.phone import add_phone_noise, fit_phone_noise

    fit = fit_phone_noise(*_pairs(fit_dir)[:2])
    files = _clean_files(clean_dirs)[:limit]
    lo, hi = fit.green_std_range
    records = []
    with atomic_dir(out) as tmp:
        for f in files:
            clean = read_image(f)
            green, s = draw(seed, f.name, lo, hi)
            noisy = add_phone_noise(clean, np.random.default_rng(np.random.SeedSequence(list(s))), fit.params(green))
            key = f"{pair_key(f, CLEAN_TOKENS)}"
            write_image(tmp / "input" / f"{key}_NOISY.png", noisy)
            write_image(tmp / "groundtruth" / f"{key}_GT.png", clean)
            records.append({"id": key, "source": str(f), "green_std": round(green, 3), "seed": list(s),
                            "psnr_noisy": round(float(psnr_paper(noisy, clean)), 3)})
        record = {"fit_pairs": str(fit_dir), "fit": fit.to_json(), "spread": SPREAD, "seed": seed, "pairs": records}
        write_text(tmp / "phone_pairs.json", json.dumps(record, indent=1) + "\n")
    return record


def check(fit_dir: Path, held_out: Path) -> list[str]:
    """Lines comparing the real residuals of ``held_out`` with the model fitted on ``fit_dir`` at each image's
    own green level (the statistics of ``pngan eval-noise``)."""
    from pngan.metrics import akld
    from pngan.metrics.noise_texture import texture_report
    from pngan.noise.phone import add_phone_noise, fit_phone_noise

    fit = fit_phone_noise(*_pairs(fit_dir)[:2])
    clean, noisy, names = _pairs(held_out)
    greens = [float((n - c)[..., 1].std() * 255) for c, n in zip(clean, noisy)]
    fakes = [add_phone_noise(c, np.random.default_rng(zlib.crc32(k.encode())), fit.params(g))
             for c, g, k in zip(clean, greens, names)]
    t = texture_report(clean, noisy, fakes)
    r, f = t["real"], t["fake"]
    return [f"fit on {fit_dir}: {fit}",
            f"held-out {held_out} ({len(clean)} pairs), model at each image's green std "
            f"({', '.join(f'{g:.1f}' for g in greens)}):",
            f"  AKLD {akld(clean, noisy, [[x] for x in fakes])[0]:.3f}, hist KLD {t['hist_kld']:.3f}, "
            f"spectrum {t['spectrum_db']:.2f} dB",
            f"  lag-1 {f['lag1']:.3f} (real {r['lag1']:.3f}), R-G {f['between_channels']['RG']:.3f} "
            f"(real {r['between_channels']['RG']:.3f}), std {np.round(f['std'], 1).tolist()} "
            f"(real {np.round(r['std'], 1).tolist()})"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", type=Path, required=True, help="real phone pairs to fit the noise to")
    ap.add_argument("--clean", type=Path, action="append", default=[], help="clean folder (repeatable)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="at most this many clean images")
    ap.add_argument("--check", type=Path, default=None, help="held-out real pairs to check the fit on")
    a = ap.parse_args()
    from pngan.errors import PnganError

    try:
        if a.check is not None:
            print("\n".join(check(a.fit, a.check)))
        if a.out is None:
            return
        if not a.clean:
            sys.exit("error: give --clean DIR (repeatable) with --out")
        if a.out.exists() and any(a.out.iterdir()):
            sys.exit(f"error: {a.out} exists and is not empty; choose a new folder")
        rec = make(a.fit, a.clean, a.out, a.seed, a.limit)
    except PnganError as e:
        sys.exit(f"error: {e}")
    p = [r["psnr_noisy"] for r in rec["pairs"]]
    print(f"wrote {len(p)} pairs to {a.out} (noisy PSNR {min(p):.2f}..{max(p):.2f} dB, mean {np.mean(p):.2f})")


if __name__ == "__main__":
    main()
