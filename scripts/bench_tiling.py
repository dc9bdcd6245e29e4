"""Tiled vs whole-image output for every architecture: the old fixed margin and the measured one.

For each model: its receptive radius (``pngan.runtimes.autotile.receptive_radius``, an
impulse probe), then the PSNR between the whole-image output and the tiled output with
(a) the old rule (overlap 32, margin overlap // 4 = 8, no alignment) and (b) the geometry
derived from the radius (margin = radius + 2, overlap = 2 * margin + 16, tile origins
aligned to the network's down-sampling factor). Shipped weights where the project ships
them (dncnn, smnet-s); random (seeded) weights otherwise: the official MIRNet/RIDNet/SMNet
checkpoints are not shipped, so their radius is that of the random-init network.

    OMP_NUM_THREADS=2 python scripts/bench_tiling.py [--size 192x256] [--tile 128] [--models dncnn,ridnet]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pngan.metrics import psnr_float
from pngan.models import build, load_model, shipped_weights
from pngan.noise import add_poisson_gaussian
from pngan.runtimes.autotile import geometry_for, receptive_radius
from pngan.runtimes.tiling import tiled
from pngan.runtimes.torch_runner import TorchRunner
from pngan.assets.samples import sample_image

MODELS = ("dncnn", "smnet-s", "smnet", "mirnet", "ridnet")


def _net(name: str) -> tuple[torch.nn.Module, str]:
    if shipped_weights(name) is not None:
        return load_model(name), "shipped"
    torch.manual_seed(0)
    return build(name).eval(), "random init (seed 0)"


def _image(h: int, w: int) -> np.ndarray:
    clean = sample_image("coffee")
    reps = (-(-h // clean.shape[0]), -(-w // clean.shape[1]), 1)
    clean = np.tile(clean, reps)[:h, :w]
    noisy = add_poisson_gaussian(clean, np.random.default_rng(0), 4e-3, 2e-4)
    return np.ascontiguousarray(noisy.transpose(2, 0, 1)[None], dtype=np.float32)


def bench(name: str, x: np.ndarray, tile: int) -> dict[str, object]:
    net, weights = _net(name)
    run = TorchRunner(net)
    t0 = time.perf_counter()
    radius = receptive_radius(run)
    t_probe = time.perf_counter() - t0
    whole = run(x)
    old = tiled(run, x, tile, 32, batch=1)
    geo = geometry_for(radius, tile)
    short = geo.pop("short")
    align = int(getattr(net, "pad_multiple", 1))
    new = tiled(run, x, tile, batch=1, align=align, **geo)
    return {"model": name, "weights": weights, "radius": radius, "probe_s": t_probe, "margin": geo["margin"],
            "overlap": geo["overlap"], "align": align, "short": short,
            "old_db": psnr_float(whole, old), "new_db": psnr_float(whole, new)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="192x256", help="HxW of the test image (default 192x256)")
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.lower().split("x"))
    x = _image(h, w)
    print(f"image {w}x{h} (coffee + Poisson-Gaussian noise), tile {args.tile}; PSNR of tiled vs whole output")
    print("| model | weights | receptive radius (px) | old: overlap 32, margin 8 | measured: margin / overlap / align "
          "| tiled vs whole |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        r = bench(name.strip(), x, args.tile)
        note = f" (margin {r['short']} px short: tile too small)" if r["short"] else ""
        print(f"| {r['model']} | {r['weights']} | {r['radius']} (probe {r['probe_s']:.1f} s) | {r['old_db']:.1f} dB "
              f"| {r['margin']} / {r['overlap']} / {r['align']}{note} | {r['new_db']:.1f} dB |", flush=True)


if __name__ == "__main__":
    main()
