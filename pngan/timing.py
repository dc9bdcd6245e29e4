"""Latency measurement shared by the demo, the parity report and the benchmarks."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def measure_latency(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times, then ``repeats`` timed times; milliseconds p50/p90/min."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    a = np.asarray(times)
    return {"p50_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)), "min_ms": float(a.min())}
