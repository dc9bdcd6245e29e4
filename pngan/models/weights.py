"""Weights I/O: official ``.pth`` dicts, bare state dicts and the project's ``.safetensors``.

``.pth`` files are read with ``torch.load(weights_only=True)``: a pickle that
would need code execution is refused, never run.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from pngan.io.atomic import atomic_path
from pngan.errors import CheckpointError, ModelError, first_line
from pngan.models.registry import build

_META_KEY = "pngan"


def _read_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """Tensors and (for safetensors) the pngan metadata of a weights file."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    _refuse_non_checkpoint(path)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing; the error says enough
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for garbage: UnpicklingError, KeyError, RuntimeError, ...
        text = str(e)
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise CheckpointError(
                f"{path}: refused: the pickle needs code execution to load (weights_only=True); "
                "re-save it as a plain state dict or .safetensors"
            ) from None
        first = first_line(e, 160)
        raise CheckpointError(f"{path}: not a readable checkpoint, possibly truncated ({first})") from None
    return _unwrap(obj, path), None


_SIGNATURES = ((b"\xff\xd8\xff", "a JPEG image"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
               (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"BM", "a BMP image"),
               (b"RIFF", "a RIFF file (WebP image?)"), (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip file"))


def _refuse_non_checkpoint(path: Path) -> None:
    """``CheckpointError`` when ``path`` is neither a zip (torch.save) nor a pickle (legacy .pth)."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return
    if head[8:9] == b"{":  # 8-byte header length, then JSON: a safetensors file without the suffix
        raise CheckpointError(f"{path}: a .safetensors file with the suffix {path.suffix!r}; "
                              "rename it to .safetensors")
    what = next((name for sig, name in _SIGNATURES if head.startswith(sig)), None)
    if what is None:
        what = "text" if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "unknown content"
    raise CheckpointError(f"{path}: not a weights file ({what}); give a PyTorch .pth/.pt state dict "
                          "or a .safetensors file")


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        first = first_line(e)
        raise CheckpointError(f"{path}: not a readable safetensors file, possibly truncated ({first})") from None
    if _META_KEY not in meta:
        return tensors, None
    try:
        info = json.loads(meta[_META_KEY])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: corrupted pngan metadata (not JSON)") from None
    if not isinstance(info, dict) or not isinstance(info.get("config", {}), dict):
        raise CheckpointError(f"{path}: corrupted pngan metadata (expected {{name, config}} objects)")
    return tensors, info


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """Accept ``{"state_dict": ...}``, ``{"params": ...}`` and bare state dicts; strip ``module.``."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "params_ema", "params", "model"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: not a checkpoint (no state dict of tensors found)")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in obj.items()}


def _check_compatible(model: nn.Module, sd: Mapping[str, torch.Tensor], path: Path) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        name = getattr(model, "pngan_name", type(model).__name__)
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (first: {shapes[0]})")
        raise CheckpointError(f"{path}: weights do not match architecture {name!r}: {'; '.join(parts)}")


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load weights strictly into ``model`` from ``.pth``/``.pt`` or ``.safetensors``; returns ``model``."""
    p = Path(path)
    sd, _ = _read_state_dict(p)
    _check_compatible(model, sd, p)
    model.load_state_dict(sd, strict=True)
    return model


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The pngan metadata (model name, config, ...) of a project ``.safetensors`` file."""
    p = Path(path)
    if p.suffix != ".safetensors":
        raise CheckpointError(f"{p}: only .safetensors files carry model metadata; pass --model for .pth files")
    _, info = _read_safetensors(p) if p.is_file() else _read_state_dict(p)
    if not info or "name" not in info:
        raise CheckpointError(f"{p}: safetensors file has no pngan metadata (model name/config)")
    return info


def load(path: str | os.PathLike) -> nn.Module:
    """Rebuild the model described by a project ``.safetensors`` file and load its weights (eval mode)."""
    p = Path(path)
    sd, info = _read_state_dict(p)
    if not info or "name" not in info:
        raise CheckpointError(f"{p}: no pngan metadata (model name/config); use load_weights(build(name), path)")
    try:
        model = build(info["name"], **info.get("config", {}))
    except ModelError as e:
        raise CheckpointError(f"{p}: metadata describes no buildable model ({e})") from None
    _check_compatible(model, sd, p)
    model.load_state_dict(sd, strict=True)
    model.pngan_meta = {k: v for k, v in info.items() if k not in ("name", "config")}
    return model.eval()


def save_weights(model: nn.Module, path: str | os.PathLike, name: str | None = None,
                 config: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Atomically write ``model``'s weights as ``.safetensors`` with name/config metadata.

    Tensors shared between modules (MIRNet's repeated blocks) are stored once per key.
    """
    p = Path(path)
    if p.suffix != ".safetensors":
        raise CheckpointError(f"{p}: save_weights writes .safetensors files only")
    from safetensors.torch import save_file

    name = name or getattr(model, "pngan_name", None)
    if name is None:
        raise CheckpointError("save_weights needs the model name (build the model with pngan.models.build)")
    config = dict(config if config is not None else getattr(model, "pngan_config", {}))
    sd = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    info = {"name": name, "config": config, **(dict(extra) if extra else {})}
    with atomic_path(p) as tmp:
        save_file(sd, str(tmp), metadata={_META_KEY: json.dumps(info, sort_keys=True)})
    return p


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (recorded in export manifests)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
