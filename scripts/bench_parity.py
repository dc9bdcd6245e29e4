#!/usr/bin/env python
"""Wall time of ``pngan parity`` over a folder of artifacts (issue 21: 9 artifacts took 193 s).

    python scripts/bench_parity.py --out /tmp/parity-bench                 # dncnn: ONNX and OpenVINO, fp32/fp16/int8
    python scripts/bench_parity.py --out /tmp/parity-bench --variants onnx-fp32,onnx-int8,openvino-fp32 --runs 2
    python scripts/bench_parity.py --out /tmp/parity-bench --pairs 8 --pair-size 512   # like --data val
    PYTHONPATH=/path/to/other/tree python scripts/bench_parity.py --out /tmp/parity-bench --no-export

Exports ``--model`` (shipped weights) to each ``--variants`` target-precision under ``--out``
(kept: an existing artifact folder is reused), then runs the ``pngan parity`` command on them
``--runs`` times in a fresh interpreter (imports included, as a user sees it) and prints the
seconds of each run and their median. The subprocess inherits the environment, so ``PYTHONPATH``
can point it at another checkout for a before/after comparison on the same artifacts. ``--pairs N``
writes N noisy/clean pairs (the shipped samples tiled to ``--pair-size``, synthetic Poisson-Gaussian
noise) beside ``--out`` and passes them as ``--data``: a validation set, where the torch reference
on every pair is most of the work.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

DEFAULT_VARIANTS = "onnx-fp32,onnx-fp16,onnx-int8,openvino-fp32,openvino-fp16,openvino-int8"


def export_variants(model: str, variants: list[str], out: Path) -> None:
    from pngan.export import export
    from pngan.models import default_weights, load_model

    weights = default_weights(model)
    net = load_model(model, weights)
    for v in variants:
        target, precision = v.rsplit("-", 1)
        if (out / v / "manifest.json").is_file():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(net, target, out, precision=precision, weights=weights, validate=False)
        print(f"exported {out / v}", file=sys.stderr)


def write_pairs(folder: Path, n: int, size: int) -> Path:
    import numpy as np

    from pngan.io.images import write_image
    from pngan.noise import add_poisson_gaussian
    from pngan.assets.samples import SAMPLES, sample_image

    rng = np.random.default_rng(0)
    for i in range(n):
        img = sample_image(SAMPLES[i % len(SAMPLES)])
        clean = np.pad(img, ((0, max(0, size - img.shape[0])), (0, max(0, size - img.shape[1])), (0, 0)),
                       mode="symmetric")[:size, :size]
        clean = np.roll(clean, 37 * i, axis=1)
        write_image(folder / "groundtruth" / f"p{i}_mean.png", clean)
        write_image(folder / "input" / f"p{i}_real.png", add_poisson_gaussian(clean, rng, 4e-3, 2e-4))
    return folder


def time_parity(out: Path, extra: list[str]) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of one ``pngan parity`` run (CPU: user + system, all threads: the work done,
    steadier than the wall time on a shared machine)."""
    cmd = [sys.executable, "-m", "pngan.cli", "parity", "--artifacts", str(out), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=out)  # not the checkout: `-m` imports from cwd
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):  # 1: some artifact failed its gate, still a full run
        sys.exit(f"error: pngan parity exited {r.returncode}: {r.stderr.strip().splitlines()[-1:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="dncnn")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma-separated target-precision folders")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-export", action="store_true", help="time the artifacts already under --out")
    ap.add_argument("--pairs", type=int, default=0, help="N noisy/clean pairs as --data (0: the shipped samples)")
    ap.add_argument("--pair-size", type=int, default=512)
    ap.add_argument("parity_args", nargs="*", help="extra `pngan parity` options, after --")
    a = ap.parse_args()
    if not a.no_export:
        export_variants(a.model, [v.strip() for v in a.variants.split(",") if v.strip()], a.out)
    extra = list(a.parity_args)
    if a.pairs:
        data = a.out.parent / f"{a.out.name}-pairs-{a.pairs}x{a.pair_size}"
        if not data.is_dir():
            write_pairs(data, a.pairs, a.pair_size)
        extra += ["--data", str(data)]
    runs = [time_parity(a.out, extra) for _ in range(a.runs)]
    n = sum(1 for p in a.out.iterdir() if (p / "manifest.json").is_file())
    for what, i in (("wall", 0), ("cpu", 1)):
        v = [r[i] for r in runs]
        print(f"pngan parity over {n} artifacts, {what}: {', '.join(f'{t:.1f}' for t in v)} s "
              f"(median {statistics.median(v):.1f} s)")


if __name__ == "__main__":
    main()
