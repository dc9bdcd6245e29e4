"""Ablation of stage 2 (pngan): named variants of one base config, trained in parallel, one table.

    python scripts/ablate_pngan.py --train PATH/polyu100/train --val PATH/polyu100/val \
        [--denoiser W] [--steps 3000] [--parallel 4] [--only kl,old] [--out runs/ablation] [--report-only]

Every variant trains on ``--train`` and is validated (whole images, ``run.val_samples`` seeded
samples each) on ``--val`` every ``run.val_every`` steps; the table shows each variant's best
validation AKLD and the step it was reached at (the model selection is on ``--val``, so these
numbers are selection scores: report held-out numbers of the chosen model with ``pngan eval-noise``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(__file__).parent / "configs" / "smnet-s_polyu100.toml"
# Every variant starts from the earlier recipe (whatever the config file now says), then changes a few keys.
OLD = ["loss.adversarial=0.02", "loss.alignment=1.0", "loss.noise_std=1.0", "loss.noise_kl=0.0",
       "loss.fidelity=0.0", "optim.lr_g=5e-4", "model.input_sigma=3.0",
       "model.discriminator_config={ n_feat = 16, depth = 3 }"]
KL = ["loss.noise_kl=1.0", "loss.noise_std=0.0"]
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "old": ("noise-level L1 + alignment + RaGAN 0.02 (the earlier recipe)", []),
    "paper": ("paper loss set: RaGAN 0.05 + alignment + fidelity L1", [
        "loss.adversarial=0.05", "loss.noise_std=0.0", "loss.fidelity=1.0"]),
    "kl": ("noise KL + alignment + RaGAN 0.02", KL),
    "kl+std": ("noise KL + noise-level L1 + alignment + RaGAN 0.02", ["loss.noise_kl=1.0"]),
    "kl-noadv": ("kl without the adversarial term", KL + ["loss.adversarial=0.0"]),
    "kl-noalign": ("kl without the alignment term", KL + ["loss.alignment=0.0"]),
    "kl-adv0.1": ("kl with RaGAN 0.1", KL + ["loss.adversarial=0.1"]),
    "kl-bigD": ("kl with RaGAN 0.1 and a 4x wider, deeper discriminator", KL + [
        "loss.adversarial=0.1", 'model.discriminator_config={ n_feat = 32, depth = 4 }']),
    "kl-sigma6": ("kl with generator input sigma 6", KL + ["model.input_sigma=6.0"]),
    "kl-sigma12": ("kl with generator input sigma 12", KL + ["model.input_sigma=12.0"]),
    "kl-lr1e-3": ("kl with generator lr 1e-3", KL + ["optim.lr_g=1e-3"]),
    "kl-adv0.1-lr1e-3": ("kl with RaGAN 0.1 and generator lr 1e-3", KL + ["loss.adversarial=0.1", "optim.lr_g=1e-3"]),
}


def _cmd(name: str, args: argparse.Namespace) -> list[str]:
    extra = VARIANTS[name][1]
    cmd = [sys.executable, "-m", "pngan.cli", "train", "pngan", "--config", str(BASE),
           f"data.train_dir={args.train}", f"data.val_dir={args.val}", f"run.out_dir={args.out / name}",
           f"optim.steps={args.steps}", f"run.device={args.device}", *OLD, *extra, *args.set]
    if args.denoiser:
        cmd.append(f"model.denoiser_weights={args.denoiser}")
    return cmd


def _report(names: list[str], out: Path) -> list[dict]:
    rows = []
    for name in names:
        run = out / name
        best = json.loads((run / "best.json").read_text()) if (run / "best.json").is_file() else None
        vals = list(csv.DictReader(open(run / "val.csv"))) if (run / "val.csv").is_file() else []
        rows.append({"variant": name, "what": VARIANTS[name][0],
                     "best_akld": best["value"] if best else None, "best_step": best["step"] if best else None,
                     "last_akld": float(vals[-1]["val/akld"]) if vals else None,
                     "last_step": int(vals[-1]["step"]) if vals else None})
    print("| variant | what | best val AKLD (step) | last val AKLD (step) |\n|---|---|---|---|")
    for r in rows:
        best = f"{r['best_akld']:.4f} ({r['best_step']})" if r["best_akld"] is not None else "-"
        last = f"{r['last_akld']:.4f} ({r['last_step']})" if r["last_akld"] is not None else "-"
        print(f"| {r['variant']} | {r['what']} | {best} | {last} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--denoiser", default="", help="frozen alignment denoiser weights (default: shipped)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=0,
                    help="seconds per run; a run still going then stops cleanly (SIGTERM) and keeps its best")
    ap.add_argument("--only", default="", help="comma-separated variant names")
    ap.add_argument("--set", action="append", default=[], help="extra section.key=value for every variant")
    ap.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"error: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if not args.report_only:
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        todo, running = list(names), {}
        while todo or running:
            while todo and len(running) < args.parallel:
                name = todo.pop(0)
                (args.out / name).mkdir(parents=True, exist_ok=True)
                log = open(args.out / name / "train.log", "w")
                cmd = (["timeout", str(args.timeout)] if args.timeout else []) + _cmd(name, args)
                running[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
                print(f"started {name}", flush=True)
            for name, (p, log) in list(running.items()):
                if p.poll() is not None:
                    log.close()
                    print(f"finished {name} (exit {p.returncode})", flush=True)
                    del running[name]
            time.sleep(2)
    rows = _report(names, args.out)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
