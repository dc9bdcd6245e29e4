"""How much of a generator's noise a denoiser removes: noisy -> denoised PSNR on generated pairs.

    python scripts/generator_gain.py --weights smnet-s_polyu RUN/best.safetensors \
        --clean pngan/assets --clean PATH/polyu100/val/groundtruth --limit 8

For each generator and each clean folder: one seeded sample per image (``pngan generate``'s seeds, run
seed 0), denoised by ``--denoiser`` (default: the shipped default denoiser; ``--denoiser-weights`` for
other weights, repeatable), paper-metric PSNR of the noisy and the denoised image against the clean one,
averaged. A denoiser trained on real noise gains on noise; a fixed change of the content (lost detail) it
cannot undo shows as no gain or a loss. ``kept`` is the PSNR of the clean image through the denoiser: how
much detail the denoiser itself removes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from pngan.errors import PnganError
from pngan.generate.sampler import NoiseGenerator, open_generator
from pngan.models.inputs import sample_seed
from pngan.io.images import list_images, read_image
from pngan.metrics.paper import psnr_paper
from pngan.models import load_model
from pngan.weights import DEFAULT_DENOISER


def _denoise(denoiser: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()
        return denoiser(x).clamp(0, 1)[0].numpy().transpose(1, 2, 0)


def gain(generator: NoiseGenerator, denoiser: torch.nn.Module, folder: Path, limit: int | None,
         seed: int) -> tuple[float, float, int, float]:
    """Mean noisy PSNR, denoised PSNR, the image count and the mean PSNR of the clean images through the
    denoiser, over the first ``limit`` images of ``folder``."""
    scores = []
    for f in list_images(folder)[:limit]:
        clean = read_image(f)
        noisy = generator(clean, sample_seed(seed, f.name, 0))
        scores.append((psnr_paper(noisy, clean), psnr_paper(_denoise(denoiser, noisy), clean),
                       psnr_paper(_denoise(denoiser, clean), clean)))
    a = np.asarray(scores)
    return float(a[:, 0].mean()), float(a[:, 1].mean()), len(a), float(a[:, 2].mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", nargs="+", required=True, help="generator weights files or shipped names")
    p.add_argument("--clean", action="append", type=Path, required=True, help="a folder of clean images (repeatable)")
    p.add_argument("--denoiser", default=None,
                   help="a registered denoiser (default: the model each --denoiser-weights file names, else the "
                        "shipped default)")
    p.add_argument("--denoiser-weights", nargs="+", default=[None],
                   help="weights files or shipped names for --denoiser (default: its shipped weights)")
    p.add_argument("--limit", type=int, default=None, help="first N images of each folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strength", type=float, default=1.0,
                   help="noise scale of a generator given its noise (smnet-n; pngan generate --strength)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        dns = [(dw or f"{a.denoiser or DEFAULT_DENOISER} (shipped)",
                load_model(a.denoiser or (None if dw else DEFAULT_DENOISER), dw).eval()) for dw in a.denoiser_weights]
        for w in a.weights:
            gen = open_generator(w, strength=a.strength)  # loaded and checked once, sampled in every folder
            for folder in a.clean:
                for label, dn in dns:
                    noisy, den, n, kept = gain(gen, dn, folder, a.limit, a.seed)
                    print(f"{w}  {folder}  ({n} images): noisy {noisy:.2f} dB -> denoised {den:.2f} dB "
                          f"(gain {den - noisy:+.2f} dB, {label}; kept {kept:.2f} dB)")
    except PnganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
