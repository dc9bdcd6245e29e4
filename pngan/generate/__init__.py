"""Noisy images from a trained generator: seeded sampling (``sampler``) and whole folders (``folder``)."""
