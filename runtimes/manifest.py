"""``manifest.json``: what an artifact folder holds and how to feed it."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from pngan.io.atomic import write_text
from pngan.errors import ArtifactError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")


def tool_versions(*packages: str) -> dict[str, str]:
    """Installed versions of ``packages`` (plus python), for reproducibility records."""
    out = {"python": platform.python_version()}
    for pkg in ("torch", "pngan", *packages):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    """Atomically write ``folder/manifest.json``."""
    path = folder / MANIFEST
    write_text(path, json.dumps({"format_version": FORMAT_VERSION, **data}, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(folder: str | Path, verify: bool = True) -> dict[str, Any]:
    """Read and check an artifact folder's manifest; ``ArtifactError`` if absent or broken.

    With ``verify`` the model file is opened and its precision compared with the manifest's.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such artifact folder")
    if not path.is_file():
        raise ArtifactError(f"{folder}: not an artifact folder (no {MANIFEST}); export one with pngan-export")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: corrupted manifest ({e})") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: corrupted manifest (a JSON {type(data).__name__}, not an object)")
    for key in ("model", "target", "precision", "artifact"):
        if key not in data:
            raise ArtifactError(f"{path}: manifest lacks {key!r}")
    if not isinstance(data["artifact"], str) or not (folder / data["artifact"]).exists():
        raise ArtifactError(f"{folder}: manifest names {data['artifact']!r} but the file is missing")
    if data["precision"] not in PRECISIONS:
        raise ArtifactError(f"{path}: unknown precision {data['precision']!r} (one of {', '.join(PRECISIONS)})")
    if verify:
        from pngan.runtimes.precision import check_precision

        check_precision(folder, data)
    return data
