"""The training loop shared by all stages: resume, periodic checkpoints, logging, validation, export."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import torch

from pngan.atomic import write_text
from pngan.errors import PnganError
from pngan.train.checkpoint import load_checkpoint, save_checkpoint
from pngan.train.config import TrainConfig
from pngan.train.data import step_loader
from pngan.train.preflight import preflight
from pngan.train.session import start_session
from pngan.train.stages import STAGES

CKPT = Path("checkpoints") / "last.pt"


def _export(stage: Any, path: Path) -> None:
    from pngan.models import save_weights

    model, extra = stage.export_model()
    save_weights(model.eval(), path, extra=extra)
    model.train()


def _read_best(out: Path) -> float | None:
    """The best validation score recorded by an earlier (resumed) run, if any."""
    path = out / "best.json"
    return float(json.loads(path.read_text())["score"]) if path.is_file() else None


def _keep_best(stage: Any, val: dict[str, float], best: float | None, step: int, out: Path, main: bool) -> float | None:
    """Write ``best.safetensors`` when the stage's key metric improves (``stage.best_metric``: name, sign)."""
    name, sign = stage.best_metric
    if name not in val:
        return best
    score = sign * val[name]
    if best is None or score > best:
        if main:
            _export(stage, out / "best.safetensors")
            write_text(out / "best.json", json.dumps({"step": step, "metric": name, "value": val[name], "score": score}) + "\n")
        return score
    return best


def train(stage_name: str, cfg: TrainConfig, resume: bool = False, export_weights: Path | None = None,
          progress: bool = True, **stage_kwargs: Any) -> dict[str, float]:
    """Run ``stage_name`` for ``cfg.optim.steps`` steps; returns the last validation scalars.

    ``stage_kwargs`` go to the stage (e.g. ``pairs=`` for the denoiser stage).
    """
    if stage_name not in STAGES:
        raise PnganError(f"unknown stage {stage_name!r}; choose one of: {', '.join(STAGES)}")
    out = Path(cfg.run.out_dir)
    preflight(stage_name, cfg, pairs_given="pairs" in stage_kwargs)  # before anything is written
    session = start_session(cfg.run, out)
    try:
        torch.manual_seed(cfg.run.seed)
        stage = STAGES[stage_name](cfg, session, **stage_kwargs)
        ckpt = out / CKPT
        start = load_checkpoint(ckpt, stage.modules(), stage.arch()) if resume else 0
        if session.is_main:
            write_text(out / "config.json", cfg.to_json() + "\n")
        stop_requested = []
        previous = signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True)) \
            if session.is_main and hasattr(signal, "SIGTERM") else None
        steps, saved, last_val, best = cfg.optim.steps, start, {}, _read_best(out)
        loader = step_loader(stage.bank, start, steps, 0 if stage.bank.on_device else cfg.data.workers,
                             cfg.data.pin_memory and session.device.type == "cuda" and not stage.bank.on_device)
        bar = None
        if progress and session.is_main:
            from pngan.progress import progress as progress_bar

            bar = progress_bar(total=steps, initial=start, desc=f"train {stage_name}", unit="step", dynamic_ncols=True)
        die_at = int(os.environ.get("PNGAN_TEST_SIGKILL_AT_STEP", "-1"))  # tests: a real SIGKILL mid-step
        done = start
        try:
            for step, batch in zip(range(start, steps), loader):
                scalars = stage.train_step(batch, step)
                if step + 1 == die_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                done = step + 1
                if bar is not None:
                    bar.update(1)
                    if cfg.run.log_every and done % cfg.run.log_every == 0:
                        bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items() if "lr" not in k})
                if cfg.run.log_every and done % cfg.run.log_every == 0:  # 0: no losses.csv
                    session.log(done, scalars)
                if cfg.run.image_every and done % cfg.run.image_every == 0 and hasattr(stage, "images"):
                    session.log_images(done, "clean|real|fake", stage.images(batch, step))
                if cfg.run.val_every and (done % cfg.run.val_every == 0 or done == steps):
                    last_val = stage.validate()
                    if last_val:
                        session.log(done, last_val, "val.csv")
                        best = _keep_best(stage, last_val, best, done, out, session.is_main)
                if session.is_main and cfg.run.ckpt_every and done % cfg.run.ckpt_every == 0:  # 0: at exit only
                    save_checkpoint(out / CKPT, done, stage.modules(), stage.arch())
                    saved = done
                if stop_requested:
                    break
        except KeyboardInterrupt:
            stop_requested.append(True)
        finally:
            if bar is not None:
                bar.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        if session.is_main and done > saved:  # at exit: between steps, so the state is consistent
            save_checkpoint(out / CKPT, done, stage.modules(), stage.arch())
        if stop_requested:
            raise PnganError(f"stopped at step {done}; resume with --resume (checkpoint {out / CKPT})")
        if export_weights is not None and session.is_main:
            _export(stage, export_weights)
        return last_val
    finally:
        session.close()
