"""Train the shipped reference DnCNN on CPU from scikit-image's bundled photos.

Recipe: random 64x64 crops (flips/rotations) of the colour photos bundled with
scikit-image, minus the two held-out photos the shipped samples come from
(coffee, stereo motorcycle); Poisson-Gaussian noise with per-sample random
shot/read levels (``pngan.noise.sample_params_torch``) quantized to 8 bits;
L1 loss, Adam with cosine decay. Prints the held-out PSNR gain and writes
``pngan/weights/dncnn_poisson-gaussian.safetensors``.

    python scripts/train_reference.py --steps 2000 --seed 0
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage import data

from pngan.metrics import psnr
from pngan.models import build, save_weights
from pngan.noise import add_poisson_gaussian
from pngan.noise.poisson_gaussian import poisson_gaussian_torch, sample_params_torch
from pngan.assets.samples import SAMPLES, sample_image

TRAIN_PHOTOS = ("astronaut", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "cat")
OUT = Path(__file__).resolve().parents[1] / "pngan" / "weights" / "dncnn_poisson-gaussian.safetensors"


def training_images() -> list[torch.Tensor]:
    """The training photos as 3 x H x W float tensors."""
    imgs = []
    for name in TRAIN_PHOTOS:
        a = getattr(data, name)()
        imgs.append(torch.from_numpy(a[..., :3].astype(np.float32) / 255.0).permute(2, 0, 1).contiguous())
    return imgs


def random_batch(imgs: list[torch.Tensor], n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random crops with a random flip/rotation each."""
    out = []
    for _ in range(n):
        img = imgs[int(torch.randint(len(imgs), (1,), generator=g))]
        top = int(torch.randint(img.shape[1] - size + 1, (1,), generator=g))
        left = int(torch.randint(img.shape[2] - size + 1, (1,), generator=g))
        p = img[:, top:top + size, left:left + size]
        k = int(torch.randint(8, (1,), generator=g))
        p = torch.rot90(p, k % 4, (1, 2))
        out.append(p.flip(2) if k >= 4 else p)
    return torch.stack(out)


def noisy_batch(clean: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Poisson-Gaussian noise at random realistic levels, quantized to 8 bits like a saved image."""
    a, b = sample_params_torch(clean.shape[0], generator=g)
    y = poisson_gaussian_torch(clean, a, b, generator=g)
    return (y.clamp(0, 1) * 255).round() / 255


def evaluate(model: torch.nn.Module, seed: int) -> tuple[float, float]:
    """Mean PSNR (noisy, denoised) over the held-out samples at 3 noise levels."""
    model.eval()
    before, after = [], []
    with torch.no_grad():
        for name in SAMPLES:
            clean = sample_image(name)
            for shot in (1e-3, 4e-3, 1e-2):
                noisy = add_poisson_gaussian(clean, np.random.default_rng(seed), shot=shot, read=shot / 20)
                x = torch.from_numpy(noisy).permute(2, 0, 1)[None]
                y = model(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
                before.append(psnr(noisy, clean))
                after.append(psnr(y, clean))
    model.train()
    return float(np.mean(before)), float(np.mean(after))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    imgs = training_images()
    model = build("dncnn")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    t0 = time.time()
    for step in range(1, args.steps + 1):
        clean = random_batch(imgs, args.batch, args.patch, g)
        loss = F.l1_loss(model(noisy_batch(clean, g)), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps:
            b, a = evaluate(model, args.seed)
            print(f"step {step:5d}  loss {loss.item():.4f}  held-out PSNR {b:.2f} -> {a:.2f} dB  "
                  f"({time.time() - t0:.0f} s)", flush=True)
    b, a = evaluate(model, args.seed)
    save_weights(model.eval(), args.out, extra={
        "recipe": f"scripts/train_reference.py --steps {args.steps} --batch {args.batch} --patch {args.patch} "
                  f"--lr {args.lr} --seed {args.seed}",
        "heldout_psnr_noisy": round(b, 3), "heldout_psnr_denoised": round(a, 3)})
    print(f"held-out PSNR gain {a - b:+.2f} dB ({b:.2f} -> {a:.2f}); wrote {args.out}")


if __name__ == "__main__":
    main()
