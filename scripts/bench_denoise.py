"""``pngan denoise`` throughput (images/s) on 512x512 images with the shipped model, measured in one run.

    python scripts/bench_denoise.py [--model dncnn] [--images 8] [--threads 2]

Images: 512x512 crops of scikit-image's bundled photos with Poisson-Gaussian noise, written to a
temp folder in the official paired layout; the time covers reading, denoising, metrics and writing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from skimage import data
from skimage.transform import resize

from pngan.denoise.folder import denoise_folder
from pngan.io.images import write_image
from pngan.noise import add_poisson_gaussian


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", "--method", dest="model", default="dncnn")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "set"
        for i in range(args.images):
            clean = resize(photos[i % len(photos)][..., :3], (512, 512), anti_aliasing=True).astype(np.float32)
            write_image(root / "groundtruth" / f"{i:03d}_mean.png", clean)
            write_image(root / "input" / f"{i:03d}_real.png", add_poisson_gaussian(clean, np.random.default_rng(i)))
        denoise_folder(root, Path(tmp) / "warm", model=args.model)  # warm-up pass
        t0 = time.perf_counter()
        r = denoise_folder(root, Path(tmp) / "out", model=args.model)
        dt = time.perf_counter() - t0
    print(f"{args.model}: {args.images} images 512x512 in {dt:.2f} s = {args.images / dt:.2f} images/s "
          f"({args.threads} threads), mean PSNR {r.psnr:.2f} dB")


if __name__ == "__main__":
    main()
