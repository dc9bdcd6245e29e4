"""The noise-realism table: generator vs hand-made noise on held-out real pairs (AKLD, noise texture, PGap).

    python scripts/noise_realism.py --train PATH/polyu100/train --val PATH/polyu100/val \
        [--generator W] [--samples 4] [--select-samples 1] [--pgap-steps 600] [--json F]

On ``--val`` (whole images, ``--samples`` fakes per image, seeds from (seed, file, k)), for each noise:
AKLD (DANet) and the texture statistics of ``pngan.metrics.noise_texture`` (histogram KLD, radial power
spectrum distance, 7x7 autocorrelation error, lag-1 autocorrelation, R-G correlation, 8x8 blockiness).
Each hand-made model appears twice: at the level chosen on ``--train`` by AKLD (an honest baseline) and at
its best level on ``--val`` itself (an oracle). PGap: DnCNN from scratch, ``--pgap-steps`` steps, trained on
the real ``--train`` pairs and on pairs synthesized from their clean images, tested on ``--val``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from pngan.data import find_pairs
from pngan.io.images import read_image
from pngan.metrics import akld
from pngan.metrics.noise_texture import texture_report
from pngan.noise.baselines import GRIDS, best_level, samples

COLUMNS = ("AKLD", "hist KLD", "hist KLD, means removed", "spectrum dB", "autocorr. MAE", "lag-1", "R-G",
           "8x8 blockiness")


def _load(root: Path) -> tuple[list, list, list, list]:
    pairs = find_pairs(root)
    names = [Path(p.clean).name for p in pairs]
    return ([read_image(p.clean) for p in pairs], [read_image(p.noisy) for p in pairs], names,
            [n.split("_", 1)[0] for n in names])


def _row(noise: str, level: str, fakes: list, val: tuple) -> dict:
    """AKLD and every texture statistic of ``fakes`` (k per val image) against the real val noise."""
    vc, vr, _, groups = val
    t = texture_report(vc, vr, fakes, groups)
    f = t["fake"]
    return {"noise": noise, "level": level, "akld": akld(vc, vr, fakes)[0], "hist_kld": t["hist_kld"],
            "hist_kld_centred": t["hist_kld_centred"], "spectrum_db": t["spectrum_db"],
            "autocorrelation_mae": t["autocorrelation_mae"], "lag1": f["lag1"],
            "rg": f["between_channels"]["RG"], "blockiness": f["blockiness"], "std": float(np.mean(f["std"])),
            "real": t["real"]}


def _markdown(rows: list[dict], k: int) -> str:
    real = rows[0]["real"]
    out = [f"| noise on val ({k} samples per image) | level | " + " | ".join(COLUMNS) + " | noise std |",
           "|---" * (len(COLUMNS) + 3) + "|",
           f"| real | - | - | - | - | 0 (falls {real['spectrum']['drop_db']:.1f} dB) | 0 | {real['lag1']:.3f} | "
           f"{real['between_channels']['RG']:.3f} | {real['blockiness']:.2f} | {np.mean(real['std']):.2f} |"]
    for r in rows:
        name = f"**{r['noise']}**" if r["noise"].startswith("generator") else r["noise"]
        out.append(f"| {name} | {r['level']} | {r['akld']:.4f} | {r['hist_kld']:.3f} | {r['hist_kld_centred']:.3f} | "
                   f"{r['spectrum_db']:.2f} | "
                   f"{r['autocorrelation_mae']:.3f} | {r['lag1']:.3f} | {r['rg']:.3f} | {r['blockiness']:.2f} | "
                   f"{r['std']:.2f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--generator", default="", help="generator weights (default: the shipped smnet-s)")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--select-samples", type=int, default=1, help="samples per image when choosing on --train")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pgap-steps", type=int, default=0, help="0: no PGap")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from pngan.generate.sampler import generate
    from pngan.models import load_model
    from pngan.realism.report import load_generator

    t0 = time.perf_counter()
    tc, tr, tn, _ = _load(args.train)
    val = _load(args.val)
    vc, vr, vn, _ = val
    gen = load_model("smnet-s", None) if not args.generator else load_generator(Path(args.generator))
    gen_name = args.generator or "shipped smnet-s"
    k = args.samples
    rows, synths = [], {}
    print(f"train {args.train} ({len(tc)} pairs), val {args.val} ({len(vc)} pairs), {k} samples per val image",
          flush=True)
    for model in GRIDS:
        label_t, fn_t, _ = best_level(model, tc, tr, tn, args.select_samples, args.seed)
        label_o, fn_o, _ = best_level(model, vc, vr, vn, k, args.seed)
        synths[model] = (label_t, fn_t)
        for how, label, fn in (("chosen on train", label_t, fn_t), ("oracle on val", label_o, fn_o)):
            fakes = samples(lambda c, s, fn=fn: fn(c, np.random.default_rng(s)), vc, vn, k, args.seed)
            rows.append(_row(f"{model}, {how}", label, fakes, val))
            print(f"{rows[-1]['noise']:35s} {label:22s} AKLD {rows[-1]['akld']:.4f}  hist KLD "
                  f"{rows[-1]['hist_kld']:.3f}  spectrum {rows[-1]['spectrum_db']:.2f} dB", flush=True)
    fakes = samples(lambda c, s: np.clip(generate(gen, c, s), 0, 1), vc, vn, k, args.seed)
    rows.append(_row(f"generator ({gen_name})", "-", fakes, val))
    print(f"{rows[-1]['noise']:35s} AKLD {rows[-1]['akld']:.4f}  hist KLD {rows[-1]['hist_kld']:.3f}  "
          f"spectrum {rows[-1]['spectrum_db']:.2f} dB", flush=True)

    pgap = {}
    if args.pgap_steps:
        from pngan.train.config import load_config
        from pngan.train.loop import train
        from pngan.train.pgap import heldout_psnr, synthetic_pairs

        real_pairs, tests = find_pairs(args.train), find_pairs(args.val)
        sources = {"real": None, "generator": lambda c, s: generate(gen, c, s)}
        for model in ("gaussian", "camera"):
            fn = synths[model][1]
            sources[f"{model} ({synths[model][0]})"] = lambda c, s, fn=fn: fn(c, np.random.default_rng(s))
        with tempfile.TemporaryDirectory() as tmp:
            for name, synth in sources.items():
                out = Path(tmp) / name.split()[0]
                pairs = real_pairs if synth is None else synthetic_pairs(real_pairs, synth, out / "gen", 1, args.seed)
                cfg = load_config(None, [f"optim.steps={args.pgap_steps}", "model.denoiser=dncnn",
                                         "model.denoiser_weights=", f"run.out_dir={out}", f"run.seed={args.seed}",
                                         "run.val_every=0"])
                train("denoiser", cfg, export_weights=out / "w.safetensors", progress=False, pairs=pairs)
                pgap[name] = heldout_psnr(out / "w.safetensors", tests)
                print(f"PGap {name:32s} trained {args.pgap_steps} steps: val PSNR {pgap[name]:.2f} dB"
                      + (f", PGap {pgap['real'] - pgap[name]:.2f} dB" if name != "real" else ""), flush=True)

    print("\n" + _markdown(rows, k))
    if pgap:
        print(f"\n| denoiser trained on (DnCNN, {args.pgap_steps} steps) | val PSNR | PGap |\n|---|---|---|")
        for name, v in pgap.items():
            gap = "-" if name == "real" else f"{pgap['real'] - v:.2f} dB"
            print(f"| {name} | {v:.2f} dB | {gap} |")
    print(f"\n{time.perf_counter() - t0:.0f} s")
    if args.json:
        from pngan.io.atomic import write_text

        table = [{key: v for key, v in r.items() if key != "real"} for r in rows]
        write_text(args.json, json.dumps({"rows": table, "real": rows[0]["real"], "pgap": pgap, "samples": k},
                                         indent=2) + "\n")


if __name__ == "__main__":
    main()
