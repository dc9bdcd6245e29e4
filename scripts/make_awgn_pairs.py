"""Paired AWGN sets from clean images: ``OUT/sigma<S>/input/<stem>_real.png`` + ``groundtruth/<stem>_mean.png``.

    python scripts/make_awgn_pairs.py --clean SHARP/held --clean pngan/assets --sigma 5 10 --out SHARPSET
    pngan denoise --weights W --input-dir SHARPSET/sigma5 --out OUT

Pure noise (no content change, no JPEG), 8-bit, the same noisy bytes as ``pngan noise --sigma S``: a
denoiser's gain here is noise removed minus detail lost, so sharp clean images show whether it keeps detail.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def make(clean_dirs: list[Path], sigmas: list[float], out: Path, seed: int = 0) -> int:
    """Write one paired folder per sigma; returns the number of pairs per folder."""
    from pngan.data.clean import clean_images
    from pngan.io.images import read_image, write_image
    from pngan.noise.awgn import add_awgn, file_rng

    files = [f for d in clean_dirs for f in clean_images(d)]
    stems = [f.stem for f in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise SystemExit(f"error: two clean images named {dup[0]!r}: pairs are keyed by file name")
    for s in sigmas:
        for f in files:
            clean = read_image(f)
            noisy = add_awgn(clean, s, file_rng(seed, f.name, s))
            write_image(out / f"sigma{s:g}" / "input" / f"{f.stem}_real.png", noisy)
            write_image(out / f"sigma{s:g}" / "groundtruth" / f"{f.stem}_mean.png", clean)
    return len(files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", type=Path, action="append", required=True, help="a clean folder (repeatable)")
    ap.add_argument("--sigma", type=float, nargs="+", required=True, help="AWGN std(s), 0-255 scale")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.out.exists() and any(a.out.iterdir()):
        print(f"error: {a.out}: folder is not empty", file=sys.stderr)
        return 2
    if any(not s > 0 for s in a.sigma):
        print("error: --sigma values must be > 0", file=sys.stderr)
        return 2
    from pngan.errors import PnganError

    try:
        n = make(a.clean, a.sigma, a.out, a.seed)
    except PnganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{n} pairs per sigma ({', '.join(f'{s:g}' for s in a.sigma)}) -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
