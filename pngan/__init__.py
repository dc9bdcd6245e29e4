"""PNGAN edge toolkit: realistic camera-noise synthesis and on-device denoising."""

__version__ = "0.1.0"
