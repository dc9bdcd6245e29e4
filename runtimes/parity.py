"""``pngan parity``: every exported artifact under a root against the eager torch model it came from.

Split the way Polygraphy splits its comparator from its backends:

- ``artifacts``: where the artifacts are (``find_artifacts``);
- ``parity_data``: the noisy/clean pairs (a paired folder, or the shipped samples with synthetic noise);
- ``parity_rules``: the pass/fail rules (shared with ``pngan-export``'s validation);
- ``parity_check``: one artifact against its torch reference (torch computed once per weights and input);
- ``parity_result``: the typed result (``ParityReport`` of ``ArtifactResult``);
- ``parity_report``: its JSON, Markdown, terminal and PNG forms.

A broken artifact is reported (``error``) and the run goes on; one whose backend cannot run
here (not installed, Core ML off macOS, TensorRT without a GPU) is ``skipped``.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from pngan.runtimes.artifacts import MODEL_FILES, find_artifacts  # noqa: F401 - the public names
from pngan.runtimes.parity_check import References, check_artifact
from pngan.runtimes.parity_data import PairSet, folder_pairs, synthetic_pairs  # noqa: F401
from pngan.runtimes.parity_result import ParityReport
from pngan.runtimes.parity_rules import Thresholds

__all__ = ["MODEL_FILES", "PairSet", "ParityReport", "Thresholds", "find_artifacts", "folder_pairs", "run_parity",
           "synthetic_pairs"]


def run_parity(root: str | os.PathLike, *, data: str | os.PathLike | None = None, thresholds: Thresholds | None = None,
               sizes: tuple[int | tuple[int, int], ...] = (128, 256), latency_sizes: tuple[int, ...] = (256, 512),
               repeats: int = 5, threads: int | None = None, seed: int = 0, limit: int | None = None,
               progress: Callable[[str], None] | None = None) -> ParityReport:
    """The parity report for every artifact under ``root`` (see the module docstring)."""
    th = thresholds or Thresholds()
    folders = find_artifacts(root)
    pairs = folder_pairs(data, limit) if data is not None else synthetic_pairs(seed)
    sizes, latency_sizes = tuple(dict.fromkeys(sizes)), tuple(dict.fromkeys(latency_sizes))
    report = ParityReport(str(root), pairs.source, th, [s if isinstance(s, int) else list(s) for s in sizes],
                          list(latency_sizes), repeats, threads, seed)
    refs = References(threads, repeats)
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    try:
        for i, f in enumerate(folders, 1):
            say(f"[{i}/{len(folders)}] checking {f}")
            res = check_artifact(f, pairs, refs, th, sizes=sizes, latency_sizes=latency_sizes, seed=seed,
                                 options={"threads": threads}, progress=progress)
            report.artifacts.append(res)
            say(f"[{i}/{len(folders)}] {res.name}: {res.status}")
        denoisers = {(a.model, refs.sha(a.reference.weights)) for a in report.artifacts
                     if a.denoised is not None and a.reference is not None}
        report.torch = refs.rows(pairs, denoisers)
    finally:
        refs.close()
    report.seconds = time.perf_counter() - t0
    return report
