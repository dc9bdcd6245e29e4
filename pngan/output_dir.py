"""An output folder apart from the input: results written inside the input would be read as inputs next time.

Imports only the standard library, so commands check it before anything heavy is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from pngan.errors import PnganError


def refuse_overlap(source: str | os.PathLike, out: str | os.PathLike, option: str = "--out") -> None:
    """``PnganError`` when ``out`` is the input folder ``source``, inside it, or holds it.

    ``source`` may be one image file: then only an ``out`` that holds it (or is it) is refused.
    ``option`` names the output folder in the message.
    """
    src, dst = Path(source), Path(out)
    s, d = src.resolve(), dst.resolve()
    if src.is_file():
        if d == s or d in s.parents:
            raise PnganError(f"{option} {dst} holds the input image {src}: results would mix with the inputs; "
                             f"choose a folder that does not contain it")
        return
    if d == s:
        raise PnganError(f"{option} {dst} is the input folder: results would be read as inputs by the next run; "
                         f"choose another folder")
    if s in d.parents:
        raise PnganError(f"{option} {dst} is inside the input folder {src}: results would be read as inputs by "
                         f"the next run; choose a folder outside it")
    if d in s.parents:
        raise PnganError(f"{option} {dst} holds the input folder {src}: results would mix with the inputs; "
                         f"choose a folder outside it")
