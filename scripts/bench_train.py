"""Training throughput of stage 2 (pngan): steps/s, images/s and an MFU estimate, measured in one run.

    python scripts/bench_train.py                                  # CPU, smnet-s, batch 8, 64x64
    python scripts/bench_train.py --generator smnet --batch 16 --patch 128 --device cuda   # GPU, bf16 autocast
    ... --on-device --compile --profile prof.txt    # crops cut on the GPU, compiled nets, top kernels of one step

Every overhead switch is a flag, so "before" and "after" are two runs of this script on one machine:
``--no-fused`` (per-parameter Adam), ``--on-device`` (uint8 images kept on the GPU), ``--compile``
(torch.compile of generator, discriminator and frozen denoiser).

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

from pngan.io.images import write_image
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


# Without --config: the settings the measurements in docs/training.md were made with (32-feature discriminator,
# noise-level L1, RaGAN 0.05, input sigma 5), not the config defaults (the shipped generator's recipe).
BENCH_DEFAULTS = ["model.discriminator_config={n_feat=32, depth=3}", "loss.adversarial=0.05", "loss.noise_std=1.0",
                  "loss.noise_kl=0.0", "model.input_sigma=5.0"]


def _config(args: argparse.Namespace, tmp: Path):
    """The benchmark's training config: ``--config`` (or :data:`BENCH_DEFAULTS`) with the switches on top."""
    return load_config(args.config, [*([] if args.config else BENCH_DEFAULTS),
                                     f"data.train_dir={tmp / 'pairs'}", f"run.out_dir={tmp / 'run'}",
                                     f"model.generator={args.generator}", f"data.batch={args.batch}",
                                     f"data.patch={args.patch}", f"run.device={args.device}", f"run.amp={args.amp}",
                                     f"run.compile={'true' if args.compile else 'false'}",
                                     f"data.on_device={'true' if args.on_device else 'false'}",
                                     f"optim.fused={'false' if args.no_fused else 'true'}",
                                     f"run.channels_last={'false' if args.no_channels_last else 'true'}",
                                     "model.denoiser_weights=shipped"])


def _profile(stage: PnganStage, batches, first: int, path: str) -> None:
    """torch.profiler's top ops of 3 steps (from step ``first``) into ``path``."""
    from torch.profiler import ProfilerActivity, profile

    cuda = stage.s.device.type == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        for step in range(3):
            stage.train_step(next(batches), first + step)
        if cuda:
            torch.cuda.synchronize()
    key = "cuda_time_total" if cuda else "cpu_time_total"
    Path(path).write_text(prof.key_averages().table(sort_by=key, row_limit=40))
    n_kernels = sum(e.count for e in prof.key_averages() if e.device_type.name == "CUDA")
    print(f"profile: {path} ({n_kernels / 3:.0f} GPU kernels per step)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="a training TOML (its losses, models, optimizer)")
    ap.add_argument("--generator", default="smnet-s")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", default="auto")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--on-device", action="store_true", help="keep the training images on the GPU, crop there")
    ap.add_argument("--no-fused", action="store_true", help="per-parameter Adam instead of the fused kernel")
    ap.add_argument("--no-channels-last", action="store_true")
    ap.add_argument("--profile", default=None, help="write torch.profiler's top ops of 3 steps to this file")
    ap.add_argument("--peak-tflops", type=float, default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        make_pairs(Path(tmp) / "pairs", max(256, args.patch))
        cfg = _config(args, Path(tmp))
        s = start_session(cfg.run, Path(tmp) / "run")
        stage = PnganStage(cfg, s)
        batches = iter(step_loader(stage.bank, 0, args.warmup + args.steps + 4))
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
        if args.profile:
            _profile(stage, batches, args.warmup + 1 + args.steps, args.profile)
        peak = args.peak_tflops or (989.0 if s.device.type == "cuda" else None)
        achieved = flops / dt / 1e12
        print(f"device {s.device} ({torch.get_num_threads()} threads), amp {s.amp_dtype}, generator {args.generator}, "
              f"batch {args.batch}, patch {args.patch}, fused {not args.no_fused}, on_device {args.on_device}, "
              f"compile {args.compile}, channels_last {not args.no_channels_last}")
        print(f"step {dt * 1e3:.1f} ms, {1 / dt:.2f} steps/s, {args.batch / dt:.1f} images/s, "
              f"{flops / 1e9:.1f} GFLOP/step, {achieved:.3f} TFLOP/s"
              + (f", MFU {100 * achieved / peak:.2f}% of {peak:g} TFLOP/s" if peak else ""))
        s.close()


if __name__ == "__main__":
    main()
