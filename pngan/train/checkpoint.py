"""Training checkpoints: models, optimizers, schedulers, GradScaler, RNG states, step, config.

Written atomically (temp file + rename), so the last good checkpoint is never
replaced by a partial one; read back with ``weights_only=True``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from pngan.io.atomic import atomic_path
from pngan.errors import CheckpointError, first_line


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, step: int, modules: dict[str, Any], arch: dict[str, Any]) -> None:
    """Atomically save ``{name: obj.state_dict()}`` for models/optimizers/schedulers/scaler."""
    payload = {"step": step, "arch": arch, "rng": rng_state(),
               "state": {k: v.state_dict() for k, v in modules.items() if v is not None}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint payload at ``path`` (``weights_only``); one-line ``CheckpointError`` when unusable."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint to resume from")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a checkpoint, or needs code execution
        raise CheckpointError(f"{path}: cannot read the training checkpoint ({first_line(e, 160)})") from None
    if not isinstance(payload, dict) or "state" not in payload or "step" not in payload:
        raise CheckpointError(f"{path}: not a pngan training checkpoint")
    return payload


def restore(path: Path, payload: dict[str, Any], modules: dict[str, Any], arch: dict[str, Any]) -> int:
    """Restore ``modules`` and the RNG states from ``payload`` (read from ``path``); returns its step.

    Refuses a checkpoint of another architecture."""
    if payload.get("arch") != arch:
        raise CheckpointError(f"{path}: checkpoint is for a different architecture ({payload.get('arch')} vs {arch})")
    for k, v in modules.items():
        if v is not None:
            if k not in payload["state"]:
                raise CheckpointError(f"{path}: checkpoint has no state for {k!r}")
            v.load_state_dict(payload["state"][k])
    set_rng_state(payload["rng"])
    return int(payload["step"])


def load_checkpoint(path: Path, modules: dict[str, Any], arch: dict[str, Any]) -> int:
    """Restore ``modules`` from ``path``; returns the step. Refuses a checkpoint of another architecture."""
    return restore(path, read_checkpoint(path), modules, arch)
