"""Where the artifacts are: the artifact folders under an export root (or one bare model file), their
names in reports and their sizes on disk."""

from __future__ import annotations

import os
from pathlib import Path

from pngan.errors import PnganError
from pngan.runtimes import formats
from pngan.runtimes.manifest import MANIFEST

MODEL_FILES = formats.model_files()


def is_artifact(folder: Path) -> bool:
    """A folder with a manifest, or with model files but no manifest (reported as broken)."""
    return (folder / MANIFEST).exists() or any((folder / f).exists() for f in MODEL_FILES)


def _walk(root: Path, depth: int) -> list[Path]:
    found: list[Path] = []

    def walk(d: Path, level: int) -> None:
        for sub in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if is_artifact(sub):
                found.append(sub)
            elif level < depth:
                walk(sub, level + 1)

    walk(root, 1)
    return found


def find_artifacts(root: str | os.PathLike, depth: int = 3) -> list[Path]:
    """Artifact folders under ``root`` (see ``is_artifact``); ``root`` itself counts when it is one.
    A bare ``.onnx``/``.xml`` file is returned as it is. Hidden folders are skipped."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in formats.bare_suffixes() and not (root.parent / MANIFEST).is_file():
            raise PnganError(f"{root}: not a model file ({' or '.join(formats.bare_suffixes())}) nor a folder "
                             f"of artifacts")
        return [root]
    if not root.is_dir():
        raise PnganError(f"{root}: no such folder or model file")
    if is_artifact(root):
        return [root]
    found = _walk(root, depth)
    if not found:
        raise PnganError(f"{root}: no artifact folders (folders with manifest.json) found; export with pngan-export")
    return found


def export_root_hint(folder: str | os.PathLike, depth: int = 3) -> str | None:
    """``"A is an export root holding onnx-fp32, onnx-int8: pass one of them, e.g. A/onnx-fp32"`` for a
    folder without a manifest that holds artifact folders; ``None`` otherwise."""
    folder = Path(folder)
    if not folder.is_dir() or (folder / MANIFEST).exists():
        return None
    found = [p for p in _walk(folder, depth) if (p / MANIFEST).is_file()]
    if not found:
        return None
    names = [p.relative_to(folder).as_posix() for p in found]
    return f"{folder} is an export root holding {', '.join(names)}: pass one of them, e.g. {found[0]}"


def artifact_name(path: Path) -> str:
    """How reports name an artifact: its folder, or ``folder/file`` for a bare model file."""
    return f"{path.parent.name}/{path.name}" if path.is_file() else path.name


def artifact_size(folder: Path) -> int:
    """Bytes of an artifact folder's model files (everything but the manifest; Core ML packages included)."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file() and f.name != MANIFEST)


def model_file_size(path: Path, target: str) -> int:
    """Bytes of one model file and its side files (``model.bin`` beside ``model.xml``)."""
    side = formats.FORMATS[target].sidecars if target in formats.FORMATS else ()
    return path.stat().st_size + sum(path.with_suffix(s).stat().st_size for s in side
                                     if path.with_suffix(s).is_file())
