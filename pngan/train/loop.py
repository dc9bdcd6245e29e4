"""The training loop shared by all stages: resume, periodic checkpoints, logging, validation, export."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path
from typing import Any, Callable

import torch

from pngan.io.atomic import write_text
from pngan.errors import PnganError
from pngan.train import report
from pngan.train.checkpoint import restore, save_checkpoint
from pngan.train.config import TrainConfig
from pngan.train.data import step_loader
from pngan.train.preflight import preflight
from pngan.train.runfolder import CKPT, StartGuard, check_run_folder, trim_rows
from pngan.train.session import Session, process_rank, start_session
from pngan.train.stages import STAGES


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
          progress: bool = True, say: Callable[[str], None] | None = None, **stage_kwargs: Any) -> dict[str, float]:
    """Run ``stage_name`` for ``cfg.optim.steps`` steps; returns the last validation scalars.

    A fresh run refuses a folder that holds a run; a run that fails before its first step removes what it made.
    ``say`` gets the report lines (header, validations, where the weights went; rank 0); ``stage_kwargs`` go
    to the stage (e.g. ``pairs=`` for the denoiser stage).
    """
    if stage_name not in STAGES:
        raise PnganError(f"unknown stage {stage_name!r}; choose one of: {', '.join(STAGES)}")
    out, steps = Path(cfg.run.out_dir), cfg.optim.steps
    preflight(stage_name, cfg, pairs_given="pairs" in stage_kwargs)  # before anything is written
    payload = check_run_folder(out, resume)  # the same answer on every rank: nothing is written yet
    main = process_rank() == 0
    tell = say if say is not None and main else (lambda line: None)
    if payload is not None and int(payload["step"]) >= steps and export_weights is None:
        for line in report.finished(out, int(payload["step"]), steps):
            tell(line)
        return {}
    guard = StartGuard(out) if main else None
    session = None
    try:
        session = start_session(cfg.run, out)
        torch.manual_seed(cfg.run.seed)
        stage = STAGES[stage_name](cfg, session, **stage_kwargs)
        start = restore(out / CKPT, payload, stage.modules(), stage.arch()) if payload is not None else 0
        if start >= steps:  # finished, asked for its weights: nothing in the run folder changes
            if main:
                _export(stage, export_weights)
            for line in [*report.finished(out, start, steps), f"wrote {export_weights}"]:
                tell(line)
            return {}
        if main:
            write_text(out / "config.json", cfg.to_json() + "\n")
            for name in ("losses.csv", "val.csv"):
                trim_rows(out / name, start)
            session.open_writer()
        for line in report.header(stage_name, cfg, session, start):
            tell(line)
        done, last_val = _loop(stage_name, stage, cfg, session, start, progress, tell, guard)
        if export_weights is not None and main:
            _export(stage, export_weights)
        for line in report.weights(out, done, export_weights):
            tell(line)
        return last_val
    except BaseException:
        if guard is not None:
            if session is not None:
                session.close()
                session = None
            guard.undo()  # only before the first step: from then on the run's files stay
        raise
    finally:
        if session is not None:
            session.close()


def _loop(stage_name: str, stage: Any, cfg: TrainConfig, session: Session, start: int, progress: bool,
          tell: Callable[[str], None], guard: StartGuard | None) -> tuple[int, dict[str, float]]:
    """Steps ``start`` to ``optim.steps`` with logging, validation and checkpoints; returns (last step, last val)."""
    out, steps, run = Path(cfg.run.out_dir), cfg.optim.steps, cfg.run
    stop_requested = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True)) \
        if session.is_main and hasattr(signal, "SIGTERM") else None
    saved, last_val, best = start, {}, _read_best(out)
    loader = step_loader(stage.bank, start, steps, 0 if stage.bank.on_device else cfg.data.workers,
                         cfg.data.pin_memory and session.device.type == "cuda" and not stage.bank.on_device)
    bar = None
    if progress and session.is_main:
        from pngan.progress import progress as progress_bar

        bar = progress_bar(total=steps, initial=start, desc=f"train {stage_name}", unit="step", dynamic_ncols=True)

    def say_over_bar(line: str) -> None:
        if bar is None:
            tell(line)
        else:
            with bar.external_write_mode():
                tell(line)

    die_at = int(os.environ.get("PNGAN_TEST_SIGKILL_AT_STEP", "-1"))  # tests: a real SIGKILL mid-step
    nan_at = os.environ.get("PNGAN_TEST_NAN_AT", "")  # tests: "RANK:STEP", that rank's loss reads NaN there
    done, scalars, logged, diverged = start, {}, start, ""
    try:
        for step, batch in zip(range(start, steps), loader):
            scalars = stage.train_step(batch, step)
            if nan_at == f"{session.rank}:{step + 1}":
                scalars = {**scalars, "loss/g": float("nan")}
            bad = [k for k, v in scalars.items() if k.startswith("loss/") and not math.isfinite(v)]
            if session.any_rank(bool(bad)):  # a non-finite step (on any rank): nothing of it is logged or saved
                diverged = (f"{bad[0]} is {scalars[bad[0]]}" if bad else "another rank's loss is not finite") \
                    + f" at step {step + 1}"
                break
            if step + 1 == die_at:
                os.kill(os.getpid(), signal.SIGKILL)
            done = step + 1
            if guard is not None:
                guard.keep()
            if bar is not None:
                bar.update(1)
                if run.log_every and done % run.log_every == 0:
                    bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items() if "lr" not in k})
            if run.log_every and (done % run.log_every == 0 or done == steps):  # 0: no losses.csv
                session.log(done, scalars)
                logged = done
            if run.image_every and done % run.image_every == 0 and hasattr(stage, "images"):
                session.log_images(done, "clean|real|fake", stage.images(batch, step))
            if run.val_every and (done % run.val_every == 0 or done == steps):
                last_val = stage.validate()
                if last_val:
                    session.log(done, last_val, "val.csv")
                    best = _keep_best(stage, last_val, best, done, out, session.is_main)
                    say_over_bar(report.validation(done, last_val))
            if session.is_main and run.ckpt_every and done % run.ckpt_every == 0:  # 0: at exit only
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
    if diverged:
        kept = f"the checkpoint of step {saved} ({out / CKPT}) is kept" if saved else "no checkpoint was written"
        raise PnganError(f"training diverged: {diverged}; {kept}; try a lower optim.lr_g or a tighter "
                         f"optim.grad_clip")
    if run.log_every and done > logged:  # stopped between log rows: the last step's row
        session.log(done, scalars)
    if session.is_main and done > saved:  # at exit: between steps, so the state is consistent
        save_checkpoint(out / CKPT, done, stage.modules(), stage.arch())
    if stop_requested:
        if done == start:
            kept = f"{out / CKPT} is unchanged" if start else "nothing was kept"
            raise PnganError(f"stopped before step {start + 1}; {kept}")
        raise PnganError(f"stopped at step {done}; resume with --resume (checkpoint {out / CKPT})")
    return done, last_val
