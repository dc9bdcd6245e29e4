"""The calibration source adapted to ONNX Runtime (a ``CalibrationDataReader``) and NNCF (an ``nncf.Dataset``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pngan.calibration.source import CalibrationSource
from pngan.errors import BackendMissingError


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
