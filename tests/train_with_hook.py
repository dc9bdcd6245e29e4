"""``pngan train STAGE`` with a step hook (``pngan.train.loop.train(on_step=...)``), for tests that need one in
a process of its own (a real SIGKILL; one rank of a torchrun job):

    python tests/train_with_hook.py [--sigkill-at STEP] [--nan-at RANK:STEP] STAGE [section.key=value ...]

``--sigkill-at``: the process kills itself with SIGKILL right after step STEP (counted from 1);
``--nan-at``: that rank's ``loss/g`` reads NaN at step STEP. Errors are ``error: ...`` lines, as in the CLI.
"""

from __future__ import annotations

import argparse
import os
import signal

from pngan.cli.errors import run_cli


def step_hook(sigkill_at: int, nan_at: str):
    """The hook for ``train(on_step=...)``: NaN at ``nan_at`` ("RANK:STEP"), SIGKILL after step ``sigkill_at``."""

    def on_step(rank: int, step: int, scalars: dict[str, float]) -> dict[str, float]:
        if nan_at == f"{rank}:{step}":
            return {**scalars, "loss/g": float("nan")}
        if step == sigkill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return scalars

    return on_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigkill-at", type=int, default=-1)
    ap.add_argument("--nan-at", default="")
    ap.add_argument("stage")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()

    def job() -> None:
        from pngan.train.config import load_config
        from pngan.train.loop import train

        cfg = load_config(None, args.overrides)
        train(args.stage, cfg, progress=False, say=print, on_step=step_hook(args.sigkill_at, args.nan_at))

    run_cli(job)


if __name__ == "__main__":
    main()
