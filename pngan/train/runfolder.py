"""A run folder (``run.out_dir``): what marks a run, refusing to start a new run over one, undoing a start that
failed before its first step, and dropping log rows past the checkpoint a run resumes from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from pngan.io.atomic import write_text
from pngan.errors import CheckpointError, PnganError
from pngan.train.checkpoint import read_checkpoint

CKPT = Path("checkpoints") / "last.pt"
# What a run writes into its folder; any of them means the folder holds a run (``generated/``, the finetune
# stage's cached pairs, does not: a new run may reuse them).
RUN_ENTRIES = ("checkpoints", "losses.csv", "val.csv", "best.safetensors", "best.json", "config.json", "tb")


def run_traces(out: Path) -> list[str]:
    """The entries of ``RUN_ENTRIES`` that ``out`` holds."""
    return [n for n in RUN_ENTRIES if (out / n).exists()]


def check_run_folder(out: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (``resume``), else ``None``; refuses a fresh run into a folder with a run.

    Nothing is written: a refusal leaves the folder as it was.
    """
    found = run_traces(out)
    if resume:
        if not (out / CKPT).is_file():
            hint = ("start a new run with a different run.out_dir=..." if found
                    else "train without --resume to start one")
            raise CheckpointError(f"{out / CKPT}: no checkpoint to resume from ({hint})")
        return read_checkpoint(out / CKPT)
    if found:
        raise PnganError(f"{out} already holds a training run ({', '.join(found)}): continue it with --resume, "
                         f"or start a new one with a different run.out_dir=...")
    return None


class StartGuard:
    """What the run folder held before this run; ``undo()`` removes only what appeared since.

    A folder (and its parents) that did not exist is removed again when it is left empty.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out).absolute()
        self.before = set(os.listdir(self.out)) if self.out.is_dir() else set()
        self.new_dirs: list[Path] = []  # the folder and missing parents, innermost first
        p = self.out
        while not p.exists() and p != p.parent:
            self.new_dirs.append(p)
            p = p.parent
        self.armed = True

    def keep(self) -> None:
        """The run has done a step: what it wrote stays."""
        self.armed = False

    def undo(self) -> None:
        if not self.armed:
            return
        if self.out.is_dir():
            for name in set(os.listdir(self.out)) - self.before:
                p = self.out / name
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        for d in self.new_dirs:
            try:
                d.rmdir()  # only when empty: another run's folder in a new parent stays
            except OSError:
                break


def trim_rows(path: Path, step: int) -> None:
    """Drop the rows of a csv log with a step past ``step`` (logged after the checkpoint, done again on resume)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)

    def after(line: str) -> bool:
        head = line.split(",", 1)[0]
        return head.isdigit() and int(head) > step

    kept = [ln for ln in lines if not after(ln)]
    if len(kept) != len(lines):
        write_text(path, "".join(kept))
