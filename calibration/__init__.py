"""Calibration data (installed as ``pngan.calibration``): one image source adapted to each quantizer."""
