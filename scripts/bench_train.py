"""Training throughput of stage 2 (pngan): steps/s, images/s and an MFU estimate, measured in one run.

    python scripts/bench_train.py                                  # CPU, smnet-s, batch 8, 64x64
    python scripts/bench_train.py --generator smnet --batch 16 --patch 128 --device cuda   # GPU, bf16 autocast

Data: synthetic noisy/clean pairs made from scikit-image's bundled photos (no downloads).
FLOPs of one training step are counted with ``torch.utils.flop_counter``; MFU = achieved FLOP/s
over the peak given by ``--peak-tflops`` (default: 989 for CUDA = H100 SXM dense BF16; none on CPU).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from pngan.images import write_image
from pngan.noise import add_poisson_gaussian
from pngan.train.config import load_config
from pngan.train.data import step_loader
from pngan.train.session import start_session
from pngan.train.stages import PnganStage


def make_pairs(root: Path, size: int) -> None:
    from skimage import data

    for i, name in enumerate(("astronaut", "chelsea", "coffee", "rocket")):
        img = getattr(data, name)()[:size, :size, :3].astype(np.float32) / 255
        write_image(root / "groundtruth" / f"{name}_mean.png", img)
        write_image(root / "input" / f"{name}_real.png", add_poisson_gaussian(img, np.random.default_rng(i)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default="smnet-s")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", default="auto")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        make_pairs(Path(tmp) / "pairs", max(256, args.patch))
        cfg = load_config(None, [f"data.train_dir={Path(tmp) / 'pairs'}", f"run.out_dir={Path(tmp) / 'run'}",
                                 f"model.generator={args.generator}", f"data.batch={args.batch}",
                                 f"data.patch={args.patch}", f"run.device={args.device}", f"run.amp={args.amp}",
                                 f"run.compile={'true' if args.compile else 'false'}"])
        s = start_session(cfg.run, Path(tmp) / "run")
        stage = PnganStage(cfg, s)
        batches = iter(step_loader(stage.bank, 0, args.warmup + args.steps + 1))
        batch0 = next(batches)
        with FlopCounterMode(display=False) as fc:
            stage.train_step(batch0, 0)
        flops = fc.get_total_flops()
        for step in range(1, args.warmup + 1):
            stage.train_step(next(batches), step)
        if s.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for step in range(args.warmup + 1, args.warmup + 1 + args.steps):
            stage.train_step(next(batches), step)
        if s.device.type == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / args.steps
        peak = args.peak_tflops or (989.0 if s.device.type == "cuda" else None)
        achieved = flops / dt / 1e12
        print(f"device {s.device} ({torch.get_num_threads()} threads), amp {s.amp_dtype}, generator {args.generator}, "
              f"batch {args.batch}, patch {args.patch}")
        print(f"step {dt * 1e3:.1f} ms, {1 / dt:.2f} steps/s, {args.batch / dt:.1f} images/s, "
              f"{flops / 1e9:.1f} GFLOP/step, {achieved:.3f} TFLOP/s"
              + (f", MFU {100 * achieved / peak:.2f}% of {peak:g} TFLOP/s" if peak else ""))
        s.close()


if __name__ == "__main__":
    main()
