"""The training loop shared by all stages: resume, periodic checkpoints, logging, validation, export."""

from __future__ import annotations

import json
import math
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from pngan.io.atomic import write_text
from pngan.errors import PnganError
from pngan.train import report
from pngan.train.checkpoint import restore, save_checkpoint
from pngan.train.config import RunConfig, TrainConfig
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
            write_text(out / "best.json",
                       json.dumps({"step": step, "metric": name, "value": val[name], "score": score}) + "\n")
        return score
    return best


StepHook = Callable[[int, int, dict[str, float]], dict[str, float]]
"""``hook(rank, step, scalars) -> scalars``: called after each training step (``step`` counts from 1) with the
step's scalars, before they are checked and logged; what it returns is used instead (tests: a NaN, a SIGKILL)."""


def train(stage_name: str, cfg: TrainConfig, resume: bool = False, export_weights: Path | None = None,
          progress: bool = True, say: Callable[[str], None] | None = None, on_step: StepHook | None = None,
          **stage_kwargs: Any) -> dict[str, float]:
    """Run ``stage_name`` for ``cfg.optim.steps`` steps; returns the last validation scalars.

    A fresh run refuses a folder that holds a run; a run that fails before its first step removes what it made.
    ``say`` gets the report lines (header, validations, where the weights went; rank 0); ``on_step``: see
    :data:`StepHook`; ``stage_kwargs`` go to the stage (e.g. ``pairs=`` for the denoiser stage).
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
        done, last_val = _loop(stage_name, stage, cfg, session, start, progress, tell, guard, on_step)
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


@dataclass
class _Schedule:
    """When a run does what after step ``done`` (counted from 1): ``run.*_every`` steps, 0 = never (losses.csv:
    none; checkpoints: at exit only); losses and validation also after the last step."""

    run: RunConfig
    steps: int

    def postfix(self, done: int) -> bool:
        return bool(self.run.log_every) and done % self.run.log_every == 0

    def log(self, done: int) -> bool:
        return self.postfix(done) or (bool(self.run.log_every) and done == self.steps)

    def images(self, done: int) -> bool:
        return bool(self.run.image_every) and done % self.run.image_every == 0

    def validate(self, done: int) -> bool:
        return bool(self.run.val_every) and (done % self.run.val_every == 0 or done == self.steps)

    def checkpoint(self, done: int) -> bool:
        return bool(self.run.ckpt_every) and done % self.run.ckpt_every == 0


class _StopOnSigterm:
    """While entered (rank 0): SIGTERM asks the loop to stop between steps; the earlier handler comes back after."""

    def __init__(self, main: bool) -> None:
        self.main, self.requested, self.previous = main, False, None

    def _request(self, *_: Any) -> None:
        self.requested = True

    def __enter__(self) -> "_StopOnSigterm":
        if self.main and hasattr(signal, "SIGTERM"):
            self.previous = signal.signal(signal.SIGTERM, self._request)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _divergence(session: Session, scalars: dict[str, float], done: int) -> str:
    """What is not finite at step ``done`` ("" when nothing, on any rank: every rank gets the same answer)."""
    bad = [k for k, v in scalars.items() if k.startswith("loss/") and not math.isfinite(v)]
    if not session.any_rank(bool(bad)):
        return ""
    return (f"{bad[0]} is {scalars[bad[0]]}" if bad else "another rank's loss is not finite") + f" at step {done}"


def _progress_bar(progress: bool, session: Session, stage_name: str, steps: int, start: int) -> Any:
    if not (progress and session.is_main):
        return None
    from pngan.progress import progress as progress_bar

    return progress_bar(total=steps, initial=start, desc=f"train {stage_name}", unit="step", dynamic_ncols=True)


class _Run:
    """A loop's bookkeeping: what it has done (``done``, ``logged``, ``saved``, the best score) and what the
    schedule asks after each step."""

    def __init__(self, stage: Any, cfg: TrainConfig, session: Session, start: int, tell: Callable[[str], None],
                 guard: StartGuard | None, bar: Any) -> None:
        self.stage, self.session, self.tell, self.guard, self.bar = stage, session, tell, guard, bar
        self.out, self.when = Path(cfg.run.out_dir), _Schedule(cfg.run, cfg.optim.steps)
        self.start = self.done = self.logged = self.saved = start
        self.scalars: dict[str, float] = {}
        self.last_val: dict[str, float] = {}
        self.best = _read_best(self.out)

    def say(self, line: str) -> None:
        if self.bar is None:
            self.tell(line)
        else:
            with self.bar.external_write_mode():
                self.tell(line)

    def after_step(self, step: int, batch: Any, scalars: dict[str, float]) -> None:
        """Step ``step`` (from 0) went well: progress, losses.csv, images, validation, checkpoint."""
        done = self.done = step + 1
        self.scalars = scalars
        if self.guard is not None:
            self.guard.keep()
        if self.bar is not None:
            self.bar.update(1)
            if self.when.postfix(done):
                self.bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items() if "lr" not in k})
        if self.when.log(done):
            self.session.log(done, scalars)
            self.logged = done
        if self.when.images(done) and hasattr(self.stage, "images"):
            self.session.log_images(done, "clean|real|fake", self.stage.images(batch, step))
        if self.when.validate(done):
            self.last_val = self.stage.validate()
            if self.last_val:
                self.session.log(done, self.last_val, "val.csv")
                self.best = _keep_best(self.stage, self.last_val, self.best, done, self.out, self.session.is_main)
                self.say(report.validation(done, self.last_val))
        if self.session.is_main and self.when.checkpoint(done):
            self.checkpoint()

    def checkpoint(self) -> None:
        save_checkpoint(self.out / CKPT, self.done, self.stage.modules(), self.stage.arch())
        self.saved = self.done

    def finish(self, diverged: str, stopped: bool) -> tuple[int, dict[str, float]]:
        """After the last step: the error of a diverged or stopped run, else the last row and checkpoint."""
        ckpt = self.out / CKPT
        if diverged:
            kept = (f"the checkpoint of step {self.saved} ({ckpt}) is kept" if self.saved
                    else "no checkpoint was written")
            raise PnganError(f"training diverged: {diverged}; {kept}; try a lower optim.lr_g or a tighter "
                             f"optim.grad_clip")
        if self.when.run.log_every and self.done > self.logged:  # stopped between log rows: the last step's row
            self.session.log(self.done, self.scalars)
        if self.session.is_main and self.done > self.saved:  # at exit: between steps, so the state is consistent
            self.checkpoint()
        if stopped:
            if self.done == self.start:
                kept = f"{ckpt} is unchanged" if self.start else "nothing was kept"
                raise PnganError(f"stopped before step {self.start + 1}; {kept}")
            raise PnganError(f"stopped at step {self.done}; resume with --resume (checkpoint {ckpt})")
        return self.done, self.last_val


def _loop(stage_name: str, stage: Any, cfg: TrainConfig, session: Session, start: int, progress: bool,
          tell: Callable[[str], None], guard: StartGuard | None,
          on_step: StepHook | None = None) -> tuple[int, dict[str, float]]:
    """Steps ``start`` to ``optim.steps``: each step, ``on_step``, the finiteness check, then the schedule's
    logging, validation and checkpoints; returns (last step, last validation scalars)."""
    steps = cfg.optim.steps
    loader = step_loader(stage.bank, start, steps, 0 if stage.bank.on_device else cfg.data.workers,
                         cfg.data.pin_memory and session.device.type == "cuda" and not stage.bank.on_device)
    run = _Run(stage, cfg, session, start, tell, guard, _progress_bar(progress, session, stage_name, steps, start))
    diverged, stop = "", _StopOnSigterm(session.is_main)
    try:
        with stop:
            for step, batch in zip(range(start, steps), loader):
                scalars = stage.train_step(batch, step)
                if on_step is not None:
                    scalars = on_step(session.rank, step + 1, scalars)
                diverged = _divergence(session, scalars, step + 1)
                if diverged:  # a non-finite step (on any rank): nothing of it is logged or saved
                    break
                run.after_step(step, batch, scalars)
                if stop.requested:
                    break
    except KeyboardInterrupt:
        stop.requested = True
    finally:
        if run.bar is not None:
            run.bar.close()
    return run.finish(diverged, stop.requested)
