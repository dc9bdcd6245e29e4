"""Checks of a training run's inputs before anything is written: folders, pairs and weights files.

Each problem is one ``PnganError`` line; a validation folder that shares file names with the
training folder (the same images on both sides) is a ``warning:`` line, since the run is still valid.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from pngan.errors import PnganError, PnganWarning
from pngan.train.config import TrainConfig


def _pairs(root: str, key: str):
    from pngan.data.pairs import find_pairs

    if not root:
        raise PnganError(f"{key} is not set (a folder with input/ and groundtruth/)")
    pairs = find_pairs(root)
    if not pairs:
        raise PnganError(f"{key}={root}: the folder has no noisy/clean pairs")
    return pairs


def _check_kind(weights: str, want: str, key: str, name: str | None = None) -> None:
    """``weights`` (a project .safetensors file) must hold a model of kind ``want`` (and ``name``)."""
    from pngan.models.registry import spec
    from pngan.weights import resolve
    from pngan.models.weights import read_metadata

    p = resolve(weights)
    if not p.is_file():
        raise PnganError(f"{key}={weights}: no such file")
    if p.suffix != ".safetensors":
        return  # an official .pth: the model name decides, strict loading checks the keys
    info = read_metadata(p)
    kind = spec(info["name"]).kind
    if kind != want:
        raise PnganError(f"{key}={weights}: holds a {info['name']} {kind}, not a {want}")
    if name is not None and spec(name).name != spec(info["name"]).name:
        raise PnganError(f"{key}={weights}: holds {info['name']} weights, but the config asks for {name} "
                         f"(set the matching model name or pass {name} weights)")


def preflight(stage: str, cfg: TrainConfig, pairs_given: bool = False) -> None:
    """Raise on inputs that cannot train; warn on a validation set that overlaps the training set.

    ``pairs_given``: the caller passes the training pairs itself (PGap), so ``data.train_dir`` is unused.
    """
    from pngan.models.registry import spec

    m, d = cfg.model, cfg.data
    if stage in ("denoiser", "pngan") and not pairs_given:
        if stage == "denoiser" or d.train_more:
            from pngan.train.data import training_pairs

            train = training_pairs(d.train_dir, d.train_more)
        else:
            train = _pairs(d.train_dir, "data.train_dir")
        if d.val_dir:
            val = _pairs(d.val_dir, "data.val_dir")
            same = sorted({Path(p.clean).name for p in train} & {Path(p.clean).name for p in val})
            if same:
                warnings.warn(PnganWarning(
                    f"data.val_dir shares {len(same)} file name(s) with data.train_dir ({', '.join(same[:3])}"
                    f"{', ...' if len(same) > 3 else ''}): validation scores would not be held out"), stacklevel=2)
    if spec(m.denoiser).kind != "denoiser":
        raise PnganError(f"model.denoiser={m.denoiser} is a {spec(m.denoiser).kind}, not a denoiser")
    if m.denoiser_weights not in ("", "shipped"):
        _check_kind(m.denoiser_weights, "denoiser", "model.denoiser_weights", m.denoiser)
    if stage == "pngan" and spec(m.generator).kind != "generator":
        raise PnganError(f"model.generator={m.generator} is a {spec(m.generator).kind}, not a generator")
    if stage == "pngan" and m.generator_weights:
        _check_kind(m.generator_weights, "generator", "model.generator_weights", m.generator)
    e = cfg.experimental
    if stage == "pngan" and e.texture_on not in ("total", "stochastic"):
        raise PnganError(f"experimental.texture_on must be 'total' or 'stochastic', got {e.texture_on!r}")
    if stage == "pngan" and e.sharp_content:
        if not d.clean_dir:
            raise PnganError("experimental.sharp_content needs data.clean_dir (a folder of clean images)")
        from pngan.data.clean import clean_images

        clean_images(d.clean_dir)  # ImageError: missing folder or no images
    if stage == "denoiser":
        from pngan.train.blind import BlindMix

        if BlindMix.from_config(cfg).generator > 0 and m.generator_weights not in ("", "shipped"):
            _check_kind(m.generator_weights, "generator", "model.generator_weights")
    if stage == "finetune":
        if not d.clean_dir:
            raise PnganError("data.clean_dir is not set (clean images to generate noisy ones from)")
        if not m.generator_weights:
            raise PnganError("model.generator_weights is not set (weights of a trained generator)")
        _check_kind(m.generator_weights, "generator", "model.generator_weights")
