"""Atomic file writes: write to a temp file in the same folder, then rename over the target."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from pngan.errors import PnganError, WriteError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def write_error(path: Path, e: OSError) -> WriteError:
    """``e`` as a one-line ``WriteError`` naming ``path`` (errno kept)."""
    err = WriteError(f"{path}: cannot write ({e.strerror or str(e) or type(e).__name__})")
    err.errno = e.errno
    return err


def make_dir(path: str | os.PathLike) -> Path:
    """``mkdir -p`` that fails with a one-line ``WriteError`` instead of an ``OSError``."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(p, e) from None
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is synced and renamed onto ``path``.

    On any exception the temp file is removed and ``path`` is left untouched, so a
    previously written file is never replaced by a partial one. ``OSError`` (read-only
    folder, full disk, ...) is raised as ``WriteError`` naming ``path``.
    """
    target = Path(path)
    make_dir(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp",
                                   dir=target.parent)
    except OSError as e:
        raise write_error(target, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600 files; use the usual umask mode
        if tmp_path.is_file():
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp_path, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise write_error(target, e) from None
        raise


def replace_dir(staging: str | os.PathLike, final: str | os.PathLike) -> None:
    """Move a finished ``staging`` folder to ``final`` (same parent); an old ``final`` goes only after that.

    A kill between the two renames leaves the old folder complete under a hidden name.
    """
    staging, final = Path(staging), Path(final)
    if not final.exists():
        os.replace(staging, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside ``final`` to fill; on success it replaces ``final`` (``replace_dir``).

    On any exception the folder is removed and ``final`` is left as it was; an
    ``OSError`` is raised as ``WriteError`` naming ``final``.
    """
    final = Path(final)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=make_dir(final.parent)))
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; use the usual mode
    except OSError as e:
        raise write_error(final, e) from None
    try:
        yield staging
        replace_dir(staging, final)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, PnganError):
            raise write_error(final, e) from None
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    write_bytes(path, text.encode("utf-8"))
