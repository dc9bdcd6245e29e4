"""Calibration on several folders at once (``--calib-dir`` repeated): the crops of each, drawn in turn.

A recipe that covers the noise the model will see mixes light DSLR photos with heavy phone photos; each
folder gets its share of ``--calib-samples`` (the first ones one more when it does not divide evenly) and
its own seed, so adding a folder never changes the crops another folder contributes to its share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pngan.calibration.source import CalibrationSource
from pngan.errors import PnganError


def split_samples(samples: int, folders: int) -> list[int]:
    """``samples`` crops shared among ``folders``: ``[11, 11, 10]`` for 32 over 3; each folder gets >= 1."""
    if folders < 1:
        raise PnganError("calibration needs at least one folder")
    if samples < folders:
        raise PnganError(f"--calib-samples {samples} cannot give each of the {folders} --calib-dir folders a crop; "
                         f"ask for at least {folders}")
    return [samples // folders + (i < samples % folders) for i in range(folders)]


@dataclass(frozen=True)
class CalibrationMix:
    """Several ``CalibrationSource`` as one: the same interface, their crops one after the other."""

    sources: tuple[CalibrationSource, ...]

    def __post_init__(self) -> None:
        if not self.sources:
            raise PnganError("a calibration mix needs at least one source")

    @property
    def samples(self) -> int:
        return sum(s.samples for s in self.sources)

    @property
    def crop(self) -> tuple[int, int]:
        return self.sources[0].crop

    @property
    def has_targets(self) -> bool:
        """Clean targets for every crop (each source has them)."""
        return all(s.has_targets for s in self.sources)

    @property
    def files(self) -> list[Any]:
        return [f for s in self.sources for f in s.files]

    @property
    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every source's crops (each read and checked; a bad folder fails in one line naming it)."""
        return [p for s in self.sources for p in s.pairs]

    def inputs(self) -> list[np.ndarray]:
        return [x for x, _ in self.pairs]

    def describe(self) -> str:
        return " + ".join(s.describe() for s in self.sources)

    def summary(self) -> dict[str, Any]:
        """The manifest's record: the totals and each source's own record."""
        return {"source": " + ".join(str(s.summary()["source"]) for s in self.sources),
                "images": len(self.files), "samples": self.samples, "crop": list(self.crop),
                "parts": [s.summary() for s in self.sources]}


def mix(sources: Sequence[CalibrationSource]) -> CalibrationSource | CalibrationMix:
    """One source as it is, several as a ``CalibrationMix``."""
    return sources[0] if len(sources) == 1 else CalibrationMix(tuple(sources))
