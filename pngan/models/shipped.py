"""The embedded default: small reference weights shipped as package data."""

from __future__ import annotations

import os
from pathlib import Path

import torch.nn as nn

from pngan.errors import CheckpointError, ModelError
from pngan.models.registry import build, spec
from pngan.models.weights import load, load_weights, read_metadata
from pngan.weights import DEFAULT_DENOISER, folder, model_defaults, resolve

# model name -> its default file in pngan/weights/ (the table's "model default" rows). Other shipped files are
# picked by name (``--weights dncnn_poisson-gaussian``): see :func:`pngan.weights.resolve`.
SHIPPED = model_defaults()


def default_denoiser(weights: str | os.PathLike | None = None) -> str:
    """The model name ``pngan denoise`` uses without ``--method``: the one a project ``.safetensors``
    ``weights`` file names, else :data:`DEFAULT_DENOISER`."""
    if weights is not None:
        p = resolve(weights)
        if p.suffix == ".safetensors" and p.is_file():
            name = read_metadata(p).get("name")
            if name:
                return str(name)
    return DEFAULT_DENOISER


def shipped_weights(name: str) -> Path | None:
    """Path of the shipped weights for ``name`` or ``None`` if none ship (or the file is absent)."""
    try:
        name = spec(name).name  # any case
    except ModelError:
        return None
    fname = SHIPPED.get(name)
    if fname is None:
        return None
    p = folder() / fname
    return p if p.is_file() else None


def default_weights(name: str) -> Path:
    """Shipped weights for ``name``; ``CheckpointError`` telling the user to pass ``--weights``."""
    name = spec(name).name  # unknown name -> ModelError; any case
    p = shipped_weights(name)
    if p is None:
        shipped = ", ".join(k for k in SHIPPED if shipped_weights(k)) or "none"
        raise CheckpointError(f"no shipped weights for {name!r} (shipped: {shipped}); pass --weights PATH")
    return p


def load_model(name: str | None, weights: str | os.PathLike | None = None, name_option: str | None = None) -> nn.Module:
    """The model to run: ``name`` with ``weights`` (or its shipped weights), in eval mode.

    A ``.safetensors`` file with metadata rebuilds its own config (its name must
    match ``name`` when both are given); ``.pth`` files need ``name``. ``name_option`` is the
    calling command's model-name option (``--model``), named when a file needs the name; ``None``
    where the command has none.
    """
    if name is not None:
        name = spec(name).name  # any case, as the CLI
    if weights is None:
        if name is None:
            raise CheckpointError("give a model name or a weights file")
        weights = default_weights(name)
    p = resolve(weights)
    _refuse_training_checkpoint(p)
    if p.suffix == ".safetensors" and p.is_file():
        try:
            info = read_metadata(p)
        except CheckpointError:
            info = None
        if info is not None:
            if name is not None and info["name"] != name:
                raise CheckpointError(f"{p}: weights are for model {info['name']!r}, not {name!r}")
            return load(p)
    if name is None:
        raise CheckpointError(_needs_a_name(p, name_option))
    model = build(name)
    return load_weights(model, p).eval()


def _refuse_training_checkpoint(p: Path) -> None:
    """``CheckpointError`` for a training checkpoint (``<run>/checkpoints/*.pt``) given as weights."""
    if p.suffix != ".pt" or p.parent.name != "checkpoints" or not p.is_file():
        return
    run = p.parent.parent
    best = run / "best.safetensors"
    use = f"use {best}" if best.is_file() else f"{run} has no best.safetensors yet (it is written at validation)"
    raise CheckpointError(f"{p}: a training checkpoint (models, optimizers, step), not inference weights; {use} "
                          f"(or train with --export-weights FILE.safetensors)")


def _needs_a_name(p: Path, name_option: str | None) -> str:
    """Why a file without pngan metadata cannot be loaded without the model's name, and what to give."""
    from pngan.models.registry import names
    from pngan.models.weights import _refuse_non_checkpoint

    if not p.exists():
        key = str(p).lower()
        if key in names():
            w = shipped_weights(key)
            ship = f"; its shipped weights are {w.stem!r}" if w else ""
            return f"{p}: a model name, not a weights file{ship}"
        return f"{p}: no such weights file"
    if p.is_file() and p.suffix != ".safetensors":
        _refuse_non_checkpoint(p)  # an image, a text file, ...: says what it is
    what = f"{p}: not a .safetensors file with pngan metadata (model name and config)"
    if name_option:
        return f"{what}; give the model name too ({name_option} NAME)"
    return f"{what}, and this command takes no model name; give a .safetensors file written by pngan"
