"""MATLAB ``.mat`` reading: v5 through scipy, v7.3 (HDF5) through h5py when installed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pngan.errors import PnganError, first_line

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_H5PY_HINT = "pip install h5py"


def is_mat73(path: str | os.PathLike) -> bool:
    """True for a MAT v7.3 file (text header 'MATLAB 7.3 MAT-file' and/or HDF5 signature)."""
    with open(path, "rb") as f:
        head = f.read(520)
    return (head.startswith(b"MATLAB 7.3") or head.startswith(_HDF5_SIGNATURE)
            or head[512:520] == _HDF5_SIGNATURE)


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise PnganError(f"{p}: no such .mat file")
    return p


def open_mat73(path: str | os.PathLike) -> Any:
    """Open a MAT v7.3 file as an ``h5py.File`` (read-only); clear error without h5py."""
    p = _check_file(path)
    try:
        import h5py
    except ImportError:
        raise PnganError(f"{p}: MAT v7.3 (HDF5) file needs h5py, which is not installed: {_H5PY_HINT}") from None
    try:
        return h5py.File(p, "r")
    except OSError as e:
        raise PnganError(f"{p}: cannot open MAT v7.3 file ({first_line(e, empty='corrupt')})") from None


def load_mat_v5(path: str | os.PathLike) -> dict[str, Any]:
    """``scipy.io.loadmat`` with one-line errors (v7.3 files name ``pip install h5py``)."""
    p = _check_file(path)
    if is_mat73(p):
        raise PnganError(f"{p}: MAT v7.3 (HDF5) file: read it with open_mat73 ({_H5PY_HINT})")
    import scipy.io

    try:
        return scipy.io.loadmat(p)
    except NotImplementedError:  # scipy's message for v7.3 files it did not detect above
        raise PnganError(f"{p}: MAT v7.3 (HDF5) file needs h5py: {_H5PY_HINT}") from None
    except (ValueError, TypeError, OSError) as e:
        msg = first_line(e, empty="corrupt")
        raise PnganError(f"{p}: cannot read .mat file ({type(e).__name__}: {msg})") from None


def mat_variable(data: dict[str, Any], key: str | None, path: str | os.PathLike) -> Any:
    """``data[key]``; with ``key=None`` the file's stem, else its only variable."""
    names = [k for k in data if not k.startswith("__")]
    if key is None:
        stem = Path(path).stem
        if stem in names:
            key = stem
        elif len(names) == 1:
            key = names[0]
        else:
            raise PnganError(f"{path}: name the variable to read (variables: {', '.join(names) or 'none'})")
    if key not in names:
        raise PnganError(f"{path}: no variable {key!r} (variables: {', '.join(names) or 'none'})")
    return data[key]
