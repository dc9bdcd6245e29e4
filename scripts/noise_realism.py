"""The noise-realism table: generator vs hand-made noise on held-out real pairs (AKLD, optionally PGap).

    python scripts/noise_realism.py --train PATH/polyu100/train --val PATH/polyu100/val \
        [--generator W] [--samples 4] [--select-samples 1] [--pgap-steps 600] [--json F]

AKLD (DANet) on ``--val`` (whole images, ``--samples`` fakes per image, seeds from (seed, file, k)).
Each hand-made model appears twice: at the level chosen on ``--train`` (an honest baseline) and at
its best level on ``--val`` itself (an oracle). PGap: DnCNN from scratch, ``--pgap-steps`` steps, trained
on the real ``--train`` pairs and on pairs synthesized from their clean images, tested on ``--val``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from pngan.data import find_pairs
from pngan.images import read_image
from pngan.metrics import akld
from pngan.noise.baselines import GRIDS, best_level, samples, score


def _load(root: Path) -> tuple[list, list, list]:
    pairs = find_pairs(root)
    return ([read_image(p.clean) for p in pairs], [read_image(p.noisy) for p in pairs],
            [Path(p.clean).name for p in pairs])


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

    from pngan.generate import generate
    from pngan.models import load_model

    tc, tr, tn = _load(args.train)
    vc, vr, vn = _load(args.val)
    gen = load_model("smnet-s" if not args.generator else None, args.generator or None)
    k = args.samples
    rows, synths = [], {}
    print(f"train {args.train} ({len(tc)} pairs), val {args.val} ({len(vc)} pairs), {k} samples per val image",
          flush=True)
    for model in GRIDS:
        label_t, fn_t, a_train = best_level(model, tc, tr, tn, args.select_samples, args.seed)
        a_val = score(fn_t, vc, vr, vn, k, args.seed)
        label_o, _, a_oracle = best_level(model, vc, vr, vn, k, args.seed)
        synths[model] = (label_t, fn_t)
        rows.append({"noise": model, "chosen_on_train": label_t, "akld_val": a_val,
                     "oracle_on_val": label_o, "akld_val_oracle": a_oracle})
        print(f"{model:17s} chosen on train: {label_t:22s} val AKLD {a_val:.4f} | "
              f"oracle on val: {label_o:22s} val AKLD {a_oracle:.4f}", flush=True)
    fakes = samples(lambda c, s: np.clip(generate(gen, c, s), 0, 1), vc, vn, k, args.seed)
    a_gen = akld(vc, vr, fakes)[0]
    rows.append({"noise": "generator", "weights": args.generator or "shipped smnet-s", "akld_val": a_gen})
    print(f"{'generator':17s} {args.generator or 'shipped smnet-s'}: val AKLD {a_gen:.4f}", flush=True)

    pgap = {}
    if args.pgap_steps:
        from pngan.train.config import load_config
        from pngan.train.pgap import heldout_psnr, synthetic_pairs
        from pngan.train.loop import train

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

    print("\n| noise (val, whole images) | level | AKLD |\n|---|---|---|")
    for r in rows[:-1]:
        print(f"| {r['noise']}, level chosen on train | {r['chosen_on_train']} | {r['akld_val']:.4f} |")
        print(f"| {r['noise']}, oracle level on val | {r['oracle_on_val']} | {r['akld_val_oracle']:.4f} |")
    print(f"| **generator** ({rows[-1]['weights']}) | - | **{a_gen:.4f}** |")
    if pgap:
        print(f"\n| denoiser trained on (DnCNN, {args.pgap_steps} steps) | val PSNR | PGap |\n|---|---|---|")
        for name, v in pgap.items():
            gap = "-" if name == "real" else f"{pgap['real'] - v:.2f} dB"
            print(f"| {name} | {v:.2f} dB | {gap} |")
    if args.json:
        args.json.write_text(json.dumps({"akld": rows, "pgap": pgap, "samples": k}, indent=2) + "\n")


if __name__ == "__main__":
    main()
