"""AKLD of the hand-made noise models (and optionally a generator) against real pairs, best parameter each.

    python scripts/bench_noise_models.py PAIRS_DIR [--generator WEIGHTS] [--samples 3]

PAIRS_DIR is a paired folder (input/ + groundtruth/), e.g. PolyU. For each model a small
grid of its level parameter is searched and the best AKLD is reported (like "best sigma"
for AWGN), so every baseline is shown at its most favourable setting.
"""

from __future__ import annotations

import argparse

import numpy as np

from pngan.data import find_pairs
from pngan.images import read_image
from pngan.metrics import akld
from pngan.noise import add_awgn, add_camera_noise, add_poisson_gaussian

GRIDS = {
    "gaussian": [(f"sigma={s:g}", lambda c, r, s=s: add_awgn(c, s, r)) for s in (1, 2, 3, 4, 5, 7)],
    "poisson-gaussian": [(f"shot={a:g}, read={b:g}", lambda c, r, a=a, b=b: add_poisson_gaussian(c, r, a, b))
                         for a in (5e-5, 1e-4, 2e-4, 4e-4, 8e-4) for b in (2e-6, 1e-5, 3e-5, 6e-5)],
    "camera": [(f"shot={a:g}", lambda c, r, a=a: add_camera_noise(c, r, params=(a, float(np.exp(2.18 * np.log(a) + 1.2)))))
               for a in (2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs_dir")
    ap.add_argument("--generator", default=None)
    ap.add_argument("--samples", type=int, default=3)
    args = ap.parse_args()
    pairs = find_pairs(args.pairs_dir)
    clean = [read_image(p.clean) for p in pairs]
    real = [read_image(p.noisy) for p in pairs]
    print(f"{len(pairs)} pairs from {args.pairs_dir}, {args.samples} samples per image")
    for name, grid in GRIDS.items():
        scores = []
        for label, fn in grid:
            fakes = [[fn(c, np.random.default_rng(k)) for k in range(args.samples)] for c in clean]
            scores.append((akld(clean, real, fakes)[0], label))
        best = min(scores)
        print(f"{name:18s} best AKLD {best[0]:.4f} at {best[1]}   (grid: "
              + ", ".join(f"{s:.3f}" for s, _ in scores) + ")")
    if args.generator:
        from pngan.generate import generate
        from pngan.models import load_model

        g = load_model(None, args.generator)
        fakes = [[generate(g, c, seed=k) for k in range(args.samples)] for c in clean]
        print(f"{'generator':18s} AKLD {akld(clean, real, fakes)[0]:.4f} ({args.generator})")


if __name__ == "__main__":
    main()
