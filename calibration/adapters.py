"""The calibration source adapted to ONNX Runtime, NNCF and TensorRT (batches + cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pngan.io.atomic import write_bytes
from pngan.calibration.source import CalibrationSource
from pngan.errors import BackendMissingError, PnganError


def ort_reader(source: CalibrationSource, input_name: str = "input") -> Any:
    """An ONNX Runtime ``CalibrationDataReader`` yielding ``{input_name: crop}`` once per crop."""
    try:
        from onnxruntime.quantization import CalibrationDataReader
    except ImportError:
        raise BackendMissingError("onnxruntime", "export") from None

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(source.inputs())

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {input_name: x}

        def rewind(self) -> None:
            self._it = iter(source.inputs())

        def __len__(self) -> int:
            return source.samples

    return _Reader()


def nncf_dataset(source: CalibrationSource, pairs: bool = False) -> Any:
    """An ``nncf.Dataset`` of input crops (``pairs=True``: of ``(input, clean)`` for validation)."""
    try:
        import nncf
    except ImportError:
        raise BackendMissingError("nncf", "openvino") from None
    if pairs:
        return nncf.Dataset(source.pairs)
    return nncf.Dataset(source.pairs, lambda item: item[0])


class BatchStream:
    """Calibration inputs in fixed-size batches (``batch x 3 x H x W`` contiguous float32).

    The last partial batch is dropped (a TensorRT calibrator must hand over exactly
    ``batch_size`` images); ``reset()`` starts over. Pure Python, so it is testable without TensorRT.
    """

    def __init__(self, source: CalibrationSource, batch_size: int) -> None:
        if batch_size < 1:
            raise PnganError(f"calibration batch size must be >= 1, got {batch_size}")
        if batch_size > source.samples:
            raise PnganError(f"calibration batch size {batch_size} exceeds --calib-samples {source.samples}")
        self.source, self.batch_size = source, batch_size
        self._pos = 0

    def __len__(self) -> int:
        return self.source.samples // self.batch_size

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.batch_size, 3, *self.source.crop)

    def next_batch(self) -> np.ndarray | None:
        """The next full batch, or ``None`` when exhausted."""
        xs = self.source.inputs()
        if self._pos + self.batch_size > len(xs):
            return None
        batch = np.ascontiguousarray(np.concatenate(xs[self._pos:self._pos + self.batch_size]))
        self._pos += self.batch_size
        return batch

    def reset(self) -> None:
        self._pos = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        self.reset()
        while (b := self.next_batch()) is not None:
            yield b


class CalibrationCache:
    """A calibration cache file: ``read()`` gives its bytes (``None`` if absent/empty), ``write`` is atomic."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path is not None else None

    def read(self) -> bytes | None:
        if self.path is None or not self.path.is_file():
            return None
        data = self.path.read_bytes()
        return data or None

    def write(self, data: bytes) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(self.path, bytes(data))
