#!/usr/bin/env python
"""Wall time of ``pngan parity`` over a folder of artifacts (issue 21: 9 artifacts took 193 s).

    python scripts/bench_parity.py --out /tmp/parity-bench                 # dncnn: ONNX and OpenVINO, fp32/fp16/int8
    python scripts/bench_parity.py --out /tmp/parity-bench --variants onnx-fp32,onnx-int8,openvino-fp32 --runs 2
    PYTHONPATH=/path/to/other/tree python scripts/bench_parity.py --out /tmp/parity-bench --no-export

Exports ``--model`` (shipped weights) to each ``--variants`` target-precision under ``--out``
(kept: an existing artifact folder is reused), then runs the ``pngan parity`` command on them
``--runs`` times in a fresh interpreter (imports included, as a user sees it) and prints the
seconds of each run and their median. The subprocess inherits the environment, so ``PYTHONPATH``
can point it at another checkout for a before/after comparison on the same artifacts.
"""

from __future__ import annotations

import argparse
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


def time_parity(out: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "pngan.cli", "parity", "--artifacts", str(out), *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode not in (0, 1):  # 1: some artifact failed its gate, still a full run
        sys.exit(f"error: pngan parity exited {r.returncode}: {r.stderr.strip().splitlines()[-1:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="dncnn")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma-separated target-precision folders")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-export", action="store_true", help="time the artifacts already under --out")
    ap.add_argument("parity_args", nargs="*", help="extra `pngan parity` options, after --")
    a = ap.parse_args()
    if not a.no_export:
        export_variants(a.model, [v.strip() for v in a.variants.split(",") if v.strip()], a.out)
    times = [time_parity(a.out, a.parity_args) for _ in range(a.runs)]
    n = sum(1 for p in a.out.iterdir() if (p / "manifest.json").is_file())
    print(f"pngan parity over {n} artifacts: {', '.join(f'{t:.1f}' for t in times)} s "
          f"(median {statistics.median(times):.1f} s)")


if __name__ == "__main__":
    main()
