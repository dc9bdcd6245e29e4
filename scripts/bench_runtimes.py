#!/usr/bin/env python
"""Runtime benchmarks in one process: torch eager vs every CPU runtime of the formats table, same inputs and threads.

    python scripts/bench_runtimes.py                      # dncnn ridnet smnet-s at 512x512, 2 threads
    python scripts/bench_runtimes.py --models dncnn --size 256 --repeats 5 --json bench.json
    python scripts/bench_runtimes.py --tiling             # tiled-vs-whole PSNR and peak memory (4000x3000)

For each model: export the variants of ``pngan.runtimes.formats`` (each row's ``bench``
precisions: ONNX FP32/INT8, OpenVINO, ExecuTorch and LiteRT FP32/FP16/INT8) with
``pngan.export`` (shipped weights where they exist, else a seeded random init: latency
does not depend on the weights; ExecuTorch with the bench size as its upper bound, LiteRT
with one signature of the bench size), time every backend on the same 1x3xSxS input with
the same thread count,
print p50/p90 and the speed-up over torch eager, and, for every OpenVINO IR, the ratio
of our runner's median to OpenVINO's own ``benchmark_app`` on the same IR and shape
(dynamic IR, ``-data_shape``, sync API, latency hint, same threads and precision).
Targets checked: OpenVINO and ExecuTorch INT8 >= 3x torch, ORT FP32 >= 1.5x torch, runner overhead <= 5%.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from pngan.runtimes.formats import FORMATS  # noqa: E402 - torch-free

VARIANTS = [(f.name, p) for f in FORMATS.values() if f.device == "cpu" for p in f.bench]
TARGETS = {"openvino-int8": 3.0, "executorch-int8": 3.0, "onnx-fp32": 1.5}
MAX_OVERHEAD = 0.05


def model_and_weights(name: str, seed: int = 0):
    import torch

    from pngan.models import build, load_model, shipped_weights

    w = shipped_weights(name)
    if w is not None:
        return load_model(name, w), w, "shipped"
    torch.manual_seed(seed)
    net = build(name).eval()
    path = Path(tempfile.mkdtemp(prefix="bench-w-")) / f"{name}.safetensors"
    from pngan.models import save_weights

    save_weights(net, path)
    return net, path, f"random init (seed {seed})"


def benchmark_app(xml: Path, size: int, threads: int, precision: str, seconds: float) -> dict:
    """OpenVINO's benchmark_app on the same IR and shape; its median/avg latency in ms."""
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    cmd = [exe, "-m", str(xml), "-d", "CPU", "-api", "sync", "-data_shape", f"[1,3,{size},{size}]",
           "-t", str(max(1, int(round(seconds))))]
    # benchmark_app refuses -nthreads with a hint; the latency hint already uses every core (one stream)
    cmd += (["-hint", "latency"] if threads >= (os.cpu_count() or 1)
            else ["-hint", "none", "-nstreams", "1", "-nthreads", str(threads)])
    if precision == "fp32":
        cmd += ["-infer_precision", "f32"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = r.stdout + r.stderr
    vals = {k: float(m.group(1)) for k in ("Median", "Average", "Min")
            if (m := re.search(rf"{k}:\s+([\d.]+)\s*ms", out))}
    if r.returncode or "Median" not in vals:
        return {"error": out.strip().splitlines()[-1] if out.strip() else f"exit {r.returncode}", "cmd": " ".join(cmd)}
    it = re.search(r"Count:\s+(\d+)", out)
    return {"median_ms": vals["Median"], "avg_ms": vals.get("Average"), "min_ms": vals.get("Min"),
            "iterations": int(it.group(1)) if it else None, "wall_s": time.perf_counter() - t0, "cmd": " ".join(cmd)}


def timed(fn, repeats: int) -> dict:
    """``pngan.timing.measure_latency`` plus the run count."""
    from pngan.timing import measure_latency

    return {**measure_latency(fn, repeats=repeats, warmup=1), "runs": repeats}


def bench_model(name: str, out: Path, size: int, threads: int, repeats: int, bapp_seconds: float,
                variants: list[tuple[str, str]]) -> dict:
    import torch

    from pngan.export import export
    from pngan.export.shapes import ShapeSpec
    from pngan.metrics import psnr_float
    from pngan.runtimes import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner

    torch.set_num_threads(threads)
    net, weights, wsrc = model_and_weights(name)
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    res: dict = {"model": name, "weights": wsrc, "size": size, "threads": threads, "rows": {}}
    ref = TorchRunner(net, threads=threads)
    y_ref = ref(x)
    res["rows"]["torch-eager"] = timed(lambda: ref(x), repeats)
    t_torch = res["rows"]["torch-eager"]["p50_ms"]
    print(f"  torch eager            p50 {t_torch:9.1f} ms", flush=True)
    for target, prec in variants:
        key = f"{target}-{prec}"
        folder = out / name / key
        try:
            if not (folder / "manifest.json").exists():
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    shapes = ShapeSpec(max_hw=(max(size, 256),) * 2, sizes=((size, size),))
                    export(net, target, out / name, precision=prec, weights=weights, force=True, shapes=shapes)
                export_s = time.perf_counter() - t0
            else:
                export_s = None
            opts = {"threads": threads}
            with open_artifact(folder, **opts) as r:
                y = r(x)
                row = timed(lambda: r(x), repeats)
            row.update(speedup=t_torch / row["p50_ms"], psnr_vs_torch=psnr_float(y_ref, y), export_s=export_s)
            if target == "openvino":
                b = benchmark_app(folder / "model.xml", size, threads, prec, bapp_seconds)
                row["benchmark_app"] = b
                if "median_ms" in b:
                    row["runner_over_benchmark_app"] = row["p50_ms"] / b["median_ms"]
        except Exception as e:  # keep going: one broken backend must not hide the others
            row = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
        res["rows"][key] = row
        if "error" in row:
            print(f"  {key:22s} ERROR {row['error']}", flush=True)
        else:
            extra = ""
            if "runner_over_benchmark_app" in row:
                extra = (f"  benchmark_app median {row['benchmark_app']['median_ms']:.1f} ms, "
                         f"runner/benchmark_app {row['runner_over_benchmark_app']:.3f}")
            elif "benchmark_app" in row:
                extra = f"  benchmark_app: {row['benchmark_app'].get('error')}"
            print(f"  {key:22s} p50 {row['p50_ms']:9.1f} ms  x{row['speedup']:5.2f} vs torch  "
                  f"(parity {row['psnr_vs_torch']:.1f} dB){extra}", flush=True)
    checks = []
    for key, need in TARGETS.items():
        row = res["rows"].get(key, {})
        if "speedup" in row:
            checks.append({"target": f"{key} >= {need}x torch eager", "value": row["speedup"],
                           "met": row["speedup"] >= need})
    for key, row in res["rows"].items():
        if "runner_over_benchmark_app" in row:
            checks.append({"target": f"{key} runner overhead <= {MAX_OVERHEAD:.0%} vs benchmark_app",
                           "value": row["runner_over_benchmark_app"] - 1,
                           "met": row["runner_over_benchmark_app"] <= 1 + MAX_OVERHEAD})
    res["checks"] = checks
    return res


def tiling_report(threads: int) -> dict:
    """Tiled-vs-whole PSNR (DnCNN: local; SMNet-S: global pooling) and peak memory at 4000x3000."""
    import resource
    import tracemalloc

    import torch

    from pngan.metrics import psnr_float
    from pngan.models import build, load_model
    from pngan.runtimes import tiled
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.assets.samples import sample_image

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rep: dict = {"psnr": [], "memory": []}
    img = sample_image("coffee")
    from PIL import Image

    up = Image.fromarray((img * 255).round().astype(np.uint8)).resize((768, 768), Image.BICUBIC)
    x = np.ascontiguousarray((np.asarray(up, np.float32) / 255).transpose(2, 0, 1)[None])  # natural, not periodic
    smnet = build("smnet-s").eval()
    torch.nn.init.kaiming_normal_(smnet.conv_out.weight)  # not near-identity, so the global pooling matters
    smnet.conv_out.weight.data *= 0.3
    for name, net in (("dncnn (shipped)", load_model("dncnn")), ("smnet-s (random, non-identity)", smnet)):
        run = TorchRunner(net, threads=threads)
        whole = run(x)
        for tile, overlap, margin in ((128, 32, 0), (128, 32, 8), (256, 32, 8), (256, 64, 16), (512, 64, 16)):
            y = tiled(run, x, tile, overlap, margin=margin)
            db = psnr_float(whole, y)
            rep["psnr"].append({"model": name, "image": "768x768", "tile": tile, "overlap": overlap,
                                "margin": margin, "psnr_db": db})
            print(f"  {name:32s} tile {tile:3d} overlap {overlap:2d} margin {margin:2d}: tiled vs whole {db:6.1f} dB")

    # peak memory: a cheap runner (DnCNN 8x3) in ONNX Runtime; numpy allocations via tracemalloc
    from pngan.export import export
    from pngan.runtimes import open_artifact

    small = build("dncnn", features=8, depth=3).eval()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tile-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = export(small, "onnx", tmp)
    with open_artifact(folder, threads=threads) as r:
        for h, w in ((750, 1000), (1500, 2000), (3000, 4000)):
            img = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
            r(img[:, :, :64, :64])
            tracemalloc.start()
            t0 = time.perf_counter()
            y = tiled(r, img, 256, 32, batch=4)
            dt = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            io_mb = img.nbytes / 2**20
            extra = peak / 2**20 - io_mb  # the output array is allocated inside tiled()
            rep["memory"].append({"image": f"{w}x{h}", "input_mb": io_mb, "traced_peak_mb": peak / 2**20,
                                  "beyond_output_mb": extra, "seconds": dt,
                                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            print(f"  {w}x{h}: input {io_mb:6.1f} MB, tiled() numpy peak {peak / 2**20:6.1f} MB = output "
                  f"{io_mb:6.1f} MB + {extra:5.2f} MB tiles ({dt:.1f} s; process maxrss "
                  f"{rep['memory'][-1]['maxrss_mb']:.0f} MB)", flush=True)
            del y, img
    shutil.rmtree(tmp, ignore_errors=True)
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["dncnn", "ridnet", "smnet-s"])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--benchmark-app-seconds", type=float, default=10.0)
    ap.add_argument("--variants", default=",".join(f"{t}-{p}" for t, p in VARIANTS),
                    help="comma-separated target-precision list")
    ap.add_argument("--artifacts", type=Path, default=None, help="keep/reuse exported artifacts here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--tiling", action="store_true", help="only the tiling PSNR and peak-memory measurements")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    report: dict = {"threads": a.threads, "cpu": os.cpu_count(), "load_avg_start": os.getloadavg()}
    if a.tiling:
        report["tiling"] = tiling_report(a.threads)
    else:
        variants = [tuple(v.rsplit("-", 1)) for v in a.variants.split(",") if v]
        out = a.artifacts or Path(tempfile.mkdtemp(prefix="bench-rt-"))
        report["models"] = []
        for m in a.models:
            print(f"{m} at {a.size}x{a.size}, {a.threads} threads:", flush=True)
            report["models"].append(bench_model(m, out, a.size, a.threads, a.repeats, a.benchmark_app_seconds,
                                                variants))
        print("\ntargets:")
        for r in report["models"]:
            for c in r["checks"]:
                print(f"  {r['model']:8s} {c['target']:58s} {c['value']:7.3f}  {'met' if c['met'] else 'MISSED'}")
        if a.artifacts is None:
            shutil.rmtree(out, ignore_errors=True)
    report["load_avg_end"] = os.getloadavg()
    print(f"load average start {report['load_avg_start'][0]:.2f}, end {report['load_avg_end'][0]:.2f} "
          f"(other processes on these {os.cpu_count()} cores skew every number alike)")
    if a.json:
        a.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
