"""Progress bars: shown on a terminal only (pipes and logs get no carriage-return noise)."""

from __future__ import annotations

from typing import Any, Iterable

from tqdm import tqdm


def progress(iterable: Iterable | None = None, **kw: Any) -> tqdm:
    """A ``tqdm`` bar that is disabled when stderr is not a terminal."""
    kw.setdefault("disable", None)  # tqdm: None = off for non-TTY output
    return tqdm(iterable, **kw)


def close_progress_bars() -> None:
    """Close every open bar, so that a message printed next starts on a clean line."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()
