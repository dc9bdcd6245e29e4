"""Bad weights files and bad artifact folders for the corpus, made from the shipped weights."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from pngan.models.shipped import default_weights

MARKER = "payload-ran.txt"


class Payload:
    """Unpickling this runs ``os.system``: proof of code execution is a marker file in the cwd."""

    def __reduce__(self):
        return (os.system, (f"echo pwned > {MARKER}",))


def truncated_safetensors(folder: Path) -> Path:
    src = default_weights("dncnn").read_bytes()
    p = folder / "dncnn_cut.safetensors"
    p.write_bytes(src[: len(src) // 2])
    return p


def truncated_pth(folder: Path) -> Path:
    p = folder / "dncnn_cut.pth"
    torch.save({"state_dict": load_file(default_weights("dncnn"))}, p)
    p.write_bytes(p.read_bytes()[:3000])
    return p


def other_architecture(folder: Path) -> Path:
    """The shipped SMNet-s generator's weights, renamed as if they were a denoiser's."""
    p = folder / "denoiser.safetensors"
    shutil.copy(default_weights("smnet-s"), p)
    return p


def other_architecture_pth(folder: Path) -> Path:
    """A bare ``.pth`` state dict of SMNet-s: no metadata, so only the key/shape check can catch it."""
    p = folder / "model_best.pth"
    torch.save(load_file(default_weights("smnet-s")), p)
    return p


def malicious_pickle(folder: Path, zip_format: bool) -> Path:
    p = folder / ("evil_zip.pth" if zip_format else "evil_legacy.pth")
    if zip_format:
        torch.save({"state_dict": Payload()}, p)
    else:
        with open(p, "wb") as f:
            pickle.dump({"state_dict": Payload()}, f)
    return p


def _with_metadata(folder: Path, name: str, meta: dict[str, str]) -> Path:
    p = folder / name
    save_file(load_file(default_weights("dncnn")), str(p), metadata=meta)
    return p


def wrong_metadata_name(folder: Path) -> Path:
    """DnCNN tensors whose metadata says they are RIDNet."""
    return _with_metadata(folder, "says_ridnet.safetensors", {"pngan": json.dumps({"name": "ridnet", "config": {}})})


def garbage_metadata(folder: Path) -> Path:
    """Metadata that is not JSON."""
    return _with_metadata(folder, "garbage_meta.safetensors", {"pngan": "{not json"})


def wrong_metadata_config(folder: Path) -> Path:
    """Metadata naming dncnn with a config it does not take (and a list where a dict belongs)."""
    return _with_metadata(folder, "bad_config.safetensors",
                          {"pngan": json.dumps({"name": "dncnn", "config": {"layers": 5, "colour": "blue"}})})


def unknown_model_metadata(folder: Path) -> Path:
    return _with_metadata(folder, "unknown_model.safetensors", {"pngan": json.dumps({"name": "unet9000"})})


WEIGHTS_CASES = {
    "truncated-safetensors": truncated_safetensors,
    "truncated-pth": truncated_pth,
    "other-architecture": other_architecture,
    "other-architecture-pth": other_architecture_pth,
    "malicious-pickle-legacy": lambda d: malicious_pickle(d, zip_format=False),
    "malicious-pickle-zip": lambda d: malicious_pickle(d, zip_format=True),
    "metadata-names-other-model": wrong_metadata_name,
    "metadata-not-json": garbage_metadata,
    "metadata-bad-config": wrong_metadata_config,
    "metadata-unknown-model": unknown_model_metadata,
}
