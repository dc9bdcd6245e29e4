"""Calibration data (installed as ``pngan.calibration``): one image source adapted to each quantizer.

``CalibrationSource`` draws deterministic random crops (optionally with realistic
Poisson-Gaussian noise) from an image folder or the shipped samples; the adapters turn
it into an ONNX Runtime ``CalibrationDataReader``, an ``nncf.Dataset`` or the batches
and cache of a TensorRT entropy calibrator.
"""

from pngan.calibration.adapters import BatchStream, CalibrationCache, nncf_dataset, ort_reader
from pngan.calibration.source import CalibrationSource

__all__ = ["BatchStream", "CalibrationCache", "CalibrationSource", "nncf_dataset", "ort_reader"]
