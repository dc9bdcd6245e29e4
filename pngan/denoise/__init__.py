"""Denoising folders and images: the runner over torch or an exported artifact, and the batch command's library."""
