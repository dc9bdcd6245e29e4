"""An output folder apart from the input: results written inside the input would be read as inputs next time.

Imports only the standard library, so commands check it before anything heavy is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

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


def refuse_overwriting_inputs(out: Path, files: Iterable[Path], names: Iterable[str], option: str = "--out") -> None:
    """``PnganError`` before anything is written when a result named in ``names`` would replace an input file."""
    folder = out.resolve()
    inputs = {f.resolve() for f in files}
    clash = sorted(str(folder / n) for n in names if (folder / n) in inputs)
    if clash:
        raise PnganError(f"{out}: results would overwrite {len(clash)} input image(s), e.g. {clash[0]}; "
                         f"choose another {option}")
