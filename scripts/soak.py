"""Soak test: ``pngan denoise`` over many small images and ``pngan parity`` repeated, in one process.

    python scripts/soak.py [--images 500] [--size 64] [--batch 50] [--parity-runs 20] [--threads 2]
                           [--max-traced-kb-per-unit 4] [--max-traced-kb-per-invocation 16]
                           [--max-rss-kb-per-unit 64] [--max-rss-kb-per-invocation 2048]

Images: random ``size`` x ``size`` crops of the shipped samples with their synthetic
Poisson-Gaussian noise, in folders of alternately ``batch // 2`` and ``batch * 3 // 2`` images. Each
folder is denoised by the ``pngan denoise`` click command invoked in-process (shipped DnCNN weights);
then a tiny seeded DnCNN is exported to ONNX and ``pngan parity`` is invoked ``parity-runs`` times on it.

After every invocation (a ``gc.collect()`` and, on glibc, ``malloc_trim(0)`` first) four things are
sampled: the resident set size, the open file descriptors (psutil and ``/proc/self/fd``), the bytes
``tracemalloc`` traces (every Python object and every numpy buffer, not torch storage) and the number
of live ``torch.Tensor`` objects. The first invocation of each phase is warm-up (lazy imports, caches,
thread pools). Over the samples after it, a least-squares fit ``value ~ c + a * invocations + b * images``
separates growth per invocation (``a``) from growth per image (``b``); the unequal folder sizes make
the two identifiable. Verdict (exit 1 on any):

* open fds or live tensors higher at the end than after warm-up;
* traced memory growing more than 4 KB per image (an output kept per image is 12 KB for a 32 x 32 RGB
  float32 result, 48 KB at 64 x 64; measured without a leak: ~0.5 KB at 32 x 32) or 16 KB per invocation
  (measured: ~1-6 KB; small objects that torch module construction, PIL codec lookups and click's
  stream cache leave behind);
* RSS growing more than 64 KB per image or 2 MB per invocation (catches native leaks such as runtime
  sessions never freed; RSS wanders by a few MB, so this check is coarse).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import psutil
from click.testing import CliRunner

PARITY_FAST = ["--sizes", "32,48", "--latency-sizes", "32", "--repeats", "1", "--threads", "1"]
MAX_TRACED_KB_PER_UNIT = 4.0  # per image (measured ~0.5; a kept 32x32 RGB float32 output: 12 KB)
MAX_TRACED_KB_PER_INVOCATION = 16.0  # measured baseline ~4-6 KB (torch module construction, PIL codecs, click)
MAX_RSS_KB_PER_UNIT = 64.0
MAX_RSS_KB_PER_INVOCATION = 2048.0


@dataclass
class Sample:
    phase: str
    step: int  # invocations done in this phase (0: before the first)
    done: int  # images denoised / parity runs done
    rss_mb: float
    fds: int  # psutil num_fds()
    proc_fds: int  # entries of /proc/self/fd
    traced_kb: float  # tracemalloc's current traced size (nan when tracemalloc is off)
    tensors: int  # live torch.Tensor objects
    seconds: float


def open_fds() -> tuple[int, int]:
    """Open descriptors as psutil and /proc/self/fd see them (the listing itself holds one)."""
    proc = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1
    return psutil.Process().num_fds(), proc


def _trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so RSS reflects live memory."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def live_tensors() -> int:
    import torch

    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))  # type(): no __class__ lookups


def sample(phase: str, step: int, done: int, t0: float) -> Sample:
    gc.collect()
    _trim_heap()
    fds, proc = open_fds()
    traced = tracemalloc.get_traced_memory()[0] / 1024 if tracemalloc.is_tracing() else float("nan")
    return Sample(phase, step, done, psutil.Process().memory_info().rss / 2**20, fds, proc, traced, live_tensors(),
                  time.perf_counter() - t0)


def folder_sizes(n: int, batch: int) -> list[int]:
    """Folder sizes alternating ``batch // 2`` and ``batch + batch // 2`` (mean ``batch``), ``n`` in all.

    Unequal folders let the verdict tell growth per image from growth per invocation.
    """
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(max(1, batch // 2 if len(sizes) % 2 == 0 else batch + batch // 2), n - sum(sizes)))
    return sizes


def make_images(folder: Path, n: int, size: int, batch: int, seed: int = 0) -> list[Path]:
    """``n`` noisy ``size`` x ``size`` PNG crops of the shipped samples, in folders of :func:`folder_sizes`."""
    from pngan.io.images import write_image
    from pngan.assets.samples import SAMPLES, noisy_sample, sample_image

    rng = np.random.default_rng(seed)
    sources = [sample_image(s) for s in SAMPLES]
    starts = set(np.cumsum([0, *folder_sizes(n, batch)])[:-1].tolist())
    dirs = []
    for i in range(n):
        if i in starts:
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
    tracing = tracemalloc.is_tracing()
    tracemalloc.stop()  # the export is not soaked (and tracing slows it ~4x); traces compare within a phase
    arts = export_tiny_dncnn(root / "export")
    if tracing:
        tracemalloc.start()
    t0 = time.perf_counter()
    samples = [sample("parity", 0, 0, t0)]
    on_sample(samples[-1])
    for k in range(1, runs + 1):
        _invoke(["parity", "--artifacts", str(arts), "--json", str(root / "parity.json"), *PARITY_FAST])
        samples.append(sample("parity", k, k, t0))
        on_sample(samples[-1])
    return samples


def growth_rates(steps: list[int], units: list[int], y: list[float]) -> tuple[float, float]:
    """Least-squares ``y ~ c + a * invocations + b * units``: returns ``(a, b)``.

    When units and invocations are proportional (parity: one run per invocation) the whole slope
    is reported per invocation and ``b`` is 0.
    """
    inv, u, v = (np.asarray(t, float) for t in (steps, units, y))
    if len(v) < 2:
        return 0.0, 0.0
    x = np.column_stack([np.ones_like(inv), inv, u])
    if np.linalg.matrix_rank(x) < 3:
        return float(np.polyfit(inv, v, 1)[0]), 0.0
    c, a, b = np.linalg.lstsq(x, v, rcond=None)[0]
    return float(a), float(b)


@dataclass
class Verdict:
    phase: str
    rss_first_mb: float  # the sample after the warm-up invocation
    rss_last_mb: float
    fds_first: int
    fds_last: int
    tensors_first: int
    tensors_last: int
    units: int  # images or runs between the first and the last sample
    invocations: int
    rss_kb_per_invocation: float  # least-squares rates over the samples after warm-up
    rss_kb_per_unit: float
    traced_kb_per_invocation: float
    traced_kb_per_unit: float

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_last_mb - self.rss_first_mb

    @property
    def fd_growth(self) -> int:
        return self.fds_last - self.fds_first

    @property
    def tensor_growth(self) -> int:
        return self.tensors_last - self.tensors_first

    def problems(self, limits: "Limits | None" = None) -> list[str]:
        """What exceeds the allowances (empty: no leak seen)."""
        lim = limits or Limits()
        out = []
        if self.fd_growth > 0:
            out.append(f"open fds grew {self.fds_first} -> {self.fds_last}")
        if self.tensor_growth > 0:
            out.append(f"live tensors grew {self.tensors_first} -> {self.tensors_last}")
        for what, per, rate, limit in (
                ("traced memory", "unit", self.traced_kb_per_unit, lim.traced_kb_per_unit),
                ("traced memory", "invocation", self.traced_kb_per_invocation, lim.traced_kb_per_invocation),
                ("RSS", "unit", self.rss_kb_per_unit, lim.rss_kb_per_unit),
                ("RSS", "invocation", self.rss_kb_per_invocation, lim.rss_kb_per_invocation)):
            if rate > limit:
                out.append(f"{what} grows {rate:.2f} KB per {per} (limit {limit:g})")
        return out


@dataclass
class Limits:
    """Allowed growth rates after warm-up (KB)."""

    traced_kb_per_unit: float = MAX_TRACED_KB_PER_UNIT
    traced_kb_per_invocation: float = MAX_TRACED_KB_PER_INVOCATION
    rss_kb_per_unit: float = MAX_RSS_KB_PER_UNIT
    rss_kb_per_invocation: float = MAX_RSS_KB_PER_INVOCATION


def verdict(samples: list[Sample]) -> Verdict:
    """Growth from the first sample after warm-up (step 1) to the last, and least-squares rates."""
    after = samples[1:]
    first, last = after[0], after[-1]
    steps, units = [s.step for s in after], [s.done for s in after]
    traced = [s.traced_kb for s in after]
    rss_a, rss_b = growth_rates(steps, units, [s.rss_mb * 1024 for s in after])
    tr_a, tr_b = (0.0, 0.0) if np.isnan(traced).any() else growth_rates(steps, units, traced)
    return Verdict(first.phase, first.rss_mb, last.rss_mb, first.fds, last.fds, first.tensors, last.tensors,
                   last.done - first.done, last.step - first.step, rss_a, rss_b, tr_a, tr_b)


def format_row(s: Sample) -> str:
    return (f"{s.phase:8s} {s.step:5d} {s.done:6d} {s.rss_mb:9.1f} {s.fds:5d} {s.proc_fds:9d} {s.traced_kb:10.1f} "
            f"{s.tensors:8d} {s.seconds:8.1f}")


HEADER = (f"{'phase':8s} {'step':>5s} {'done':>6s} {'rss_mb':>9s} {'fds':>5s} {'proc_fds':>9s} {'traced_kb':>10s} "
          f"{'tensors':>8s} {'time_s':>8s}")


def describe(v: Verdict, unit: str) -> str:
    per = f" + {{:+.2f}} KB per {unit[:-1]}" if unit != "runs" else ""
    return (f"{v.phase}: {v.invocations} invocations, {v.units} {unit} after warm-up: RSS {v.rss_first_mb:.1f} -> "
            f"{v.rss_last_mb:.1f} MB ({v.rss_kb_per_invocation:+.1f} KB per invocation"
            f"{per.format(v.rss_kb_per_unit)}), "
            f"traced memory {v.traced_kb_per_invocation:+.2f} KB per invocation{per.format(v.traced_kb_per_unit)}, "
            f"live tensors {v.tensors_first} -> {v.tensors_last}, open fds {v.fds_first} -> {v.fds_last}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=50, help="Images per `pngan denoise` invocation (= sample).")
    ap.add_argument("--parity-runs", type=int, default=20)
    ap.add_argument("--method", default="dncnn")
    for name, default in (("traced-kb-per-unit", MAX_TRACED_KB_PER_UNIT),
                          ("traced-kb-per-invocation", MAX_TRACED_KB_PER_INVOCATION),
                          ("rss-kb-per-unit", MAX_RSS_KB_PER_UNIT),
                          ("rss-kb-per-invocation", MAX_RSS_KB_PER_INVOCATION)):
        ap.add_argument(f"--max-{name}", type=float, default=default,
                        help=f"Allowed growth rate (default {default:g}).")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if len(folder_sizes(args.images, args.batch)) < 5 or args.parity_runs < 3:
        ap.error("need --images >= 5 * --batch and --parity-runs >= 3 (the first invocation is warm-up; "
                 "separating growth per image from growth per invocation needs at least 4 more)")
    import torch

    torch.set_num_threads(args.threads)
    tracemalloc.start()  # traced sizes are compared within a phase only (soak_parity restarts it)
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
    for v, unit in ((verdict(den), "images"), (verdict(par), "runs")):
        bad = v.problems(Limits(args.max_traced_kb_per_unit, args.max_traced_kb_per_invocation,
                                args.max_rss_kb_per_unit, args.max_rss_kb_per_invocation))
        ok &= not bad
        print(describe(v, unit) + ("".join(f"\n  FAIL: {b}" for b in bad)))
    print("verdict:", "PASS (no growth of fds, tensors or traced memory; RSS within the limit)" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
