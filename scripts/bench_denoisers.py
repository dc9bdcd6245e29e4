#!/usr/bin/env python
"""Size-speed(-quality) table of denoisers, measured in one run: DnCNN and the ResUNet and NAFUNet families.

    python scripts/bench_denoisers.py                                  # untrained variants vs shipped dncnn
    python scripts/bench_denoisers.py --weights nafunet-s=runs/nafunet-s_blind/best.safetensors \\
        --pairs polyu100-val=PATH/polyu100/val --pairs phone-val=PATH/phone_val --json table.json
    python scripts/bench_denoisers.py --models dncnn nafunet-s nafunet-s@w24 --config 'nafunet-s@w24={"width": 24}'

Per model: parameters; GMAC of one forward pass at ``--size``² (every Conv2d's MACs counted
with forward hooks: output elements x in/groups x kh x kw); OpenVINO INT8 latency at
``--size``² on ``--threads`` threads (exported with ``pngan.export``: calibration crops from
``--calib-dir`` or the exporter's default, the shipped samples with synthetic noise; median of
``--repeats`` runs after one warm-up); the ratios to DnCNN's numbers from the same run (the
machine's load skews every row alike). With ``--pairs``: paper PSNR/SSIM (pngan.metrics.paper,
as ``pngan denoise``) of torch FP32 and of the INT8 artifact on each paired folder.

Weights: ``--weights NAME=PATH`` (a .safetensors with metadata or a shipped name); else the
shipped ones (dncnn); else a seeded random init (latency and GMAC do not depend on weights).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODELS = ["dncnn", "resunet-s", "resunet-m", "nafunet-s", "nafunet-m", "nafunet-l"]


def conv_macs(net: Any, size: int) -> int:
    """Multiply-accumulates of every Conv2d in one forward pass of a 1x3x``size``x``size`` input."""
    import torch
    import torch.nn as nn

    total = [0]

    def hook(m: nn.Conv2d, inp: Any, out: torch.Tensor) -> None:
        kh, kw = m.kernel_size
        total[0] += out[0].numel() * (m.in_channels // m.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, size, size))
    finally:
        for h in handles:
            h.remove()
    return total[0]


def model_for(name: str, weights: str | None, config: dict | None, work: Path, seed: int = 0) -> tuple[Any, Path, str]:
    """(eval model, its weights file, where the weights came from)."""
    import torch

    from pngan.models import build, load_model, save_weights, shipped_weights

    if weights:
        from pngan.weights import resolve

        return load_model(name, weights), resolve(weights), str(weights)
    if not config and shipped_weights(name) is not None:
        return load_model(name), shipped_weights(name), "shipped"
    torch.manual_seed(seed)
    net = build(name, **(config or {})).eval()
    with torch.no_grad():  # zero-initialised residual scales would let the runtime fold whole branches away
        for p in net.parameters():
            if p.ndim == 4 and p.shape[0] == 1 and not p.any():
                p.normal_(0.1, 0.05)
    work.mkdir(parents=True, exist_ok=True)
    path = save_weights(net, work / "weights.safetensors")
    return net, path, f"random init (seed {seed})"


def read_pairs(root: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    from pngan.data.pairs import find_pairs
    from pngan.io.images import read_image

    return [(p.id, read_image(p.noisy), read_image(p.clean)) for p in find_pairs(root)]


def score(run: Any, pairs: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Mean paper PSNR/SSIM of ``run`` (NCHW float -> NCHW) on the pairs, and of the noisy input."""
    from pngan.metrics import psnr_paper, ssim_paper

    p, s, pn = [], [], []
    for _, noisy, clean in pairs:
        y = np.asarray(run(np.ascontiguousarray(noisy.transpose(2, 0, 1))[None].astype(np.float32)))
        y = np.clip(y[0].transpose(1, 2, 0), 0, 1)
        p.append(psnr_paper(y, clean))
        s.append(ssim_paper(y, clean))
        pn.append(psnr_paper(noisy, clean))
    return {"psnr": float(np.mean(p)), "ssim": float(np.nanmean(s)), "noisy_psnr": float(np.mean(pn))}


def prepare(name: str, a: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build/load ``name``, count parameters and MACs, export OpenVINO INT8; the row and its runners."""
    import torch

    from pngan.export import export
    from pngan.runtimes.torch_runner import TorchRunner

    torch.set_num_threads(a.threads)
    base = name.split("@")[0]  # "nafunet-s@w24": nafunet-s under the label of its --config
    net, wpath, wsrc = model_for(base, a.weights.get(name), a.config.get(name), work / name)
    row: dict[str, Any] = {"model": name, "weights": wsrc, "config": getattr(net, "pngan_config", {}),
                           "params": sum(p.numel() for p in net.parameters()),
                           "gmac": conv_macs(net, a.size) / 1e9}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(net, "openvino", work / name, precision="int8", weights=wpath, force=True,
                        calib_dir=a.calib_dir, calib_samples=a.calib_samples, validate=False)
    row["export_s"] = time.perf_counter() - t0
    return {"row": row, "torch": TorchRunner(net, threads=a.threads), "folder": folder}


def time_all(entries: list[dict[str, Any]], a: argparse.Namespace) -> None:
    """Median latency of every model, timed round-robin (one run of each per round), so load drifts hit all alike."""
    from pngan.runtimes import open_artifact

    x = np.random.default_rng(0).random((1, 3, a.size, a.size), dtype=np.float32)
    runners = [open_artifact(e["folder"], threads=a.threads) for e in entries]
    try:
        fns = [("int8_ms", r) for r in runners] + ([("torch_ms", e["torch"]) for e in entries] if a.torch else [])
        times: dict[tuple[str, int], list[float]] = {}
        for key, fn in fns:  # warm-up
            fn(x)
        for _ in range(a.repeats):
            for i, (key, fn) in enumerate(fns):
                t0 = time.perf_counter()
                fn(x)
                times.setdefault((key, i % len(entries)), []).append((time.perf_counter() - t0) * 1e3)
        for (key, i), ts in times.items():
            entries[i]["row"][key] = float(np.median(ts))
            entries[i]["row"][key.replace("_ms", "_min_ms")] = float(np.min(ts))
        for e, run in zip(entries, runners):
            y, y_ref = np.asarray(run(x)), e["torch"](x)
            e["row"]["int8_vs_torch_db"] = float(10 * np.log10(1.0 / max(np.mean((y - y_ref) ** 2), 1e-12)))
            for label, pairs in a.pair_sets.items():
                e["row"][f"{label}/torch"] = score(e["torch"], pairs)
                e["row"][f"{label}/int8"] = score(run, pairs)
    finally:
        for r in runners:
            r.close()


def _kv(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(f"error: {what} {it!r} must look like NAME=VALUE")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def table(rows: list[dict[str, Any]], labels: list[str]) -> str:
    base = next((r for r in rows if r["model"] == "dncnn"), rows[0])
    head = "| model | weights | params | GMAC | x DnCNN | INT8 ms (min) | x DnCNN | INT8 vs torch dB |"
    if any("torch_ms" in r for r in rows):
        head += " torch ms |"
    for lb in labels:
        head += f" {lb} PSNR / SSIM (torch) | {lb} INT8 PSNR (Δ) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        line = (f"| {r['model']} | {r['weights']} | {r['params'] / 1e6:.3f}M | {r['gmac']:.2f} | "
                f"{r['gmac'] / base['gmac']:.2f} | {r['int8_ms']:.1f} ({r['int8_min_ms']:.1f}) | "
                f"{r['int8_ms'] / base['int8_ms']:.2f} | {r['int8_vs_torch_db']:.1f} |")
        if "torch_ms" in r:
            line += f" {r['torch_ms']:.1f} |"
        for lb in labels:
            t, q = r[f"{lb}/torch"], r[f"{lb}/int8"]
            line += (f" {t['psnr']:.2f} / {t['ssim']:.4f} (noisy {t['noisy_psnr']:.2f}) |"
                     f" {q['psnr']:.2f} ({q['psnr'] - t['psnr']:+.2f}) |")
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10, help="timed runs per model (the median is reported)")
    ap.add_argument("--calib-dir", default=None, help="INT8 calibration images (default: the exporter's)")
    ap.add_argument("--calib-samples", type=int, default=32)
    ap.add_argument("--weights", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--config", action="append", default=[], metavar="NAME=JSON",
                    help="build NAME with this config over its defaults (random init), e.g. for width sweeps")
    ap.add_argument("--pairs", action="append", default=[], metavar="LABEL=DIR",
                    help="paired folder (input/ + groundtruth/) to score PSNR/SSIM on")
    ap.add_argument("--torch", action="store_true", help="also time torch eager FP32")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    a.weights = _kv(a.weights, "--weights")
    a.config = {k: json.loads(v) for k, v in _kv(a.config, "--config").items()}
    pair_dirs = _kv(a.pairs, "--pairs")
    a.pair_sets = {lb: read_pairs(d) for lb, d in pair_dirs.items()}
    load0 = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-dn-"))
    try:
        entries = []
        for m in a.models:
            entries.append(prepare(m, a, work))
            r = entries[-1]["row"]
            print(f"{m}: {r['params']:,} params, {r['gmac']:.2f} GMAC (export {r['export_s']:.0f} s)", flush=True)
        time_all(entries, a)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [e["row"] for e in entries]
    print(f"\n{a.size}x{a.size}, {a.threads} threads, median of {a.repeats}; "
          f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    print(table(rows, list(a.pair_sets)))
    if a.json:
        a.json.write_text(json.dumps({"size": a.size, "threads": a.threads, "repeats": a.repeats,
                                      "pairs": pair_dirs, "rows": rows}, indent=2) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
