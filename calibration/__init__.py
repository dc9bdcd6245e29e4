"""Calibration data (installed as ``pngan.calibration``): one image source adapted to each quantizer.

``CalibrationSource`` draws deterministic random crops (optionally with realistic
Poisson-Gaussian noise) from an image folder or the shipped samples; the adapters turn
it into an ONNX Runtime ``CalibrationDataReader`` or an ``nncf.Dataset`` (TensorRT takes
the QDQ ONNX that ONNX Runtime calibrates).
"""

from pngan.calibration.adapters import nncf_dataset, ort_reader
from pngan.calibration.source import CalibrationSource

__all__ = ["CalibrationSource", "nncf_dataset", "ort_reader"]
