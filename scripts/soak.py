"""Soak test: ``pngan denoise`` over many small images and ``pngan parity`` repeated, in one process.

    python scripts/soak.py [--images 500] [--size 64] [--batch 50] [--parity-runs 20]
                           [--max-rss-growth-mb 50] [--threads 2]

Images: random ``size`` x ``size`` crops of the shipped samples with their synthetic
Poisson-Gaussian noise, in folders of ``batch`` images. Each folder is denoised by the
``pngan denoise`` click command invoked in-process (shipped DnCNN weights); then a tiny
seeded DnCNN is exported to ONNX and ``pngan parity`` is invoked ``parity-runs`` times on it.
After every invocation (and a ``gc.collect()``) the resident set size and the open file
descriptors (psutil's ``num_fds`` and ``/proc/self/fd``) are sampled. The first invocation of
each phase is warm-up (lazy imports, caches, thread pools); growth is measured from the sample
after it to the last. Exits 1 when the fd count grew or RSS grew by more than the threshold.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import psutil
from click.testing import CliRunner

PARITY_FAST = ["--sizes", "32,48", "--latency-sizes", "32", "--repeats", "1", "--threads", "1"]


@dataclass
class Sample:
    phase: str
    step: int  # invocations done in this phase (0: before the first)
    done: int  # images denoised / parity runs done
    rss_mb: float
    fds: int  # psutil num_fds()
    proc_fds: int  # entries of /proc/self/fd
    seconds: float


def open_fds() -> tuple[int, int]:
    """Open descriptors as psutil and /proc/self/fd see them (the listing itself holds one)."""
    proc = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1
    return psutil.Process().num_fds(), proc


def sample(phase: str, step: int, done: int, t0: float) -> Sample:
    gc.collect()
    fds, proc = open_fds()
    return Sample(phase, step, done, psutil.Process().memory_info().rss / 2**20, fds, proc, time.perf_counter() - t0)


def make_images(folder: Path, n: int, size: int, batch: int, seed: int = 0) -> list[Path]:
    """``n`` noisy ``size`` x ``size`` PNG crops of the shipped samples, in folders of ``batch``."""
    from pngan.images import write_image
    from pngan.samples import SAMPLES, noisy_sample, sample_image

    rng = np.random.default_rng(seed)
    sources = [sample_image(s) for s in SAMPLES]
    dirs = []
    for i in range(n):
        if i % batch == 0:
            dirs.append(folder / f"in{len(dirs):03d}")
            dirs[-1].mkdir(parents=True)
        src = sources[i % len(sources)]
        y, x = (int(rng.integers(0, d - size + 1)) for d in src.shape[:2])
        write_image(dirs[-1] / f"{i:04d}.png", noisy_sample(src[y:y + size, x:x + size], rng))
    return dirs


def _invoke(args: list[str]) -> None:
    from pngan.cli import main

    r = CliRunner().invoke(main, args)
    if r.exit_code != 0:
        raise RuntimeError(f"pngan {' '.join(args[:1])} exited {r.exit_code}: {r.output[-2000:]}") from r.exception


def soak_denoise(root: Path, images: int, size: int, batch: int, method: str = "dncnn",
                 on_sample: Callable[[Sample], None] = lambda s: None) -> list[Sample]:
    """``pngan denoise`` once per folder of ``batch`` images; a sample before and after each."""
    dirs = make_images(root / "images", images, size, batch)
    t0 = time.perf_counter()
    samples = [sample("denoise", 0, 0, t0)]
    on_sample(samples[-1])
    done = 0
    for k, d in enumerate(dirs, 1):
        out = root / "results" / d.name
        _invoke(["denoise", "--method", method, "--input_dir", str(d), "--result_dir", str(out)])
        n_in, n_out = len(list(d.iterdir())), len(list(out.glob("*.png")))
        if n_out != n_in:
            raise RuntimeError(f"{d}: {n_in} images in, {n_out} written")
        done += n_in
        samples.append(sample("denoise", k, done, t0))
        on_sample(samples[-1])
    return samples


def export_tiny_dncnn(folder: Path) -> Path:
    """A tiny seeded DnCNN (8 features, depth 3) exported to ONNX; returns the artifacts folder."""
    import warnings

    import torch

    from pngan.export import export
    from pngan.models import build, save_weights

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    net = build("dncnn", features=8, depth=3).eval()
    weights = save_weights(net, folder / "w.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(net, "onnx", folder / "arts", weights=weights)
    return folder / "arts"


def soak_parity(root: Path, runs: int, on_sample: Callable[[Sample], None] = lambda s: None) -> list[Sample]:
    """``pngan parity`` on a tiny ONNX export ``runs`` times (fast sizes); a sample before and after each."""
    arts = export_tiny_dncnn(root / "export")
    t0 = time.perf_counter()
    samples = [sample("parity", 0, 0, t0)]
    on_sample(samples[-1])
    for k in range(1, runs + 1):
        _invoke(["parity", "--artifacts", str(arts), "--json", str(root / "parity.json"), *PARITY_FAST])
        samples.append(sample("parity", k, k, t0))
        on_sample(samples[-1])
    return samples


@dataclass
class Verdict:
    phase: str
    rss_first_mb: float  # the sample after the warm-up invocation
    rss_last_mb: float
    fds_first: int
    fds_last: int
    units: int  # images or runs between the two samples

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_last_mb - self.rss_first_mb

    @property
    def fd_growth(self) -> int:
        return self.fds_last - self.fds_first


def verdict(samples: list[Sample]) -> Verdict:
    """Growth from the first sample after warm-up (step 1) to the last."""
    first, last = samples[1], samples[-1]
    return Verdict(first.phase, first.rss_mb, last.rss_mb, first.fds, last.fds, last.done - first.done)


def format_row(s: Sample) -> str:
    return f"{s.phase:8s} {s.step:5d} {s.done:6d} {s.rss_mb:9.1f} {s.fds:5d} {s.proc_fds:9d} {s.seconds:8.1f}"


HEADER = f"{'phase':8s} {'step':>5s} {'done':>6s} {'rss_mb':>9s} {'fds':>5s} {'proc_fds':>9s} {'time_s':>8s}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=50, help="Images per `pngan denoise` invocation (= sample).")
    ap.add_argument("--parity-runs", type=int, default=20)
    ap.add_argument("--method", default="dncnn")
    ap.add_argument("--max-rss-growth-mb", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.images < 2 * args.batch or args.parity_runs < 2:
        ap.error("need --images >= 2 * --batch and --parity-runs >= 2 (the first invocation is warm-up)")
    import torch

    torch.set_num_threads(args.threads)
    print(f"soak: {args.images} images {args.size}x{args.size} in batches of {args.batch} "
          f"(pngan denoise --method {args.method}), then {args.parity_runs} x pngan parity "
          f"(tiny DnCNN ONNX, {' '.join(PARITY_FAST)}); torch threads {args.threads}; pid {os.getpid()}")
    print(HEADER)
    show = lambda s: print(format_row(s), flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="pngan-soak-") as tmp:
        den = soak_denoise(Path(tmp), args.images, args.size, args.batch, args.method, show)
        par = soak_parity(Path(tmp), args.parity_runs, show)
    ok = True
    print()
    for v, unit, per in ((verdict(den), "images", 100), (verdict(par), "runs", 1)):
        rate = v.rss_growth_mb / v.units * per if v.units else 0.0
        bad_rss, bad_fd = v.rss_growth_mb > args.max_rss_growth_mb, v.fd_growth > 0
        ok &= not (bad_rss or bad_fd)
        print(f"{v.phase}: RSS {v.rss_first_mb:.1f} -> {v.rss_last_mb:.1f} MB over {v.units} {unit} after warm-up: "
              f"{v.rss_growth_mb:+.1f} MB ({rate:+.2f} MB per {per} {unit if per > 1 else unit[:-1]}; limit "
              f"{args.max_rss_growth_mb:g} MB){' FAIL' if bad_rss else ''}; open fds {v.fds_first} -> {v.fds_last}"
              f"{' FAIL' if bad_fd else ''}")
    print("verdict:", "PASS (RSS flat within the limit, no fd growth)" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
