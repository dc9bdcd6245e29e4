"""Noise models for realistic noisy/clean pair synthesis.

Every model in ``NOISE_MODELS`` has the signature ``fn(img, rng, **kw) -> np.ndarray`` with
``img`` an H×W×3 float32 image in [0, 1] and ``rng`` a ``numpy.random.Generator`` or a seed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pngan.errors import PnganError
from pngan.noise.awgn import RngLike, add_awgn, awgn_torch
from pngan.noise.camera import (
    CameraMeta,
    CameraNoiseParams,
    add_camera_noise,
    process,
    sample_noise_params,
    unprocess,
)
from pngan.noise.poisson_gaussian import (
    add_poisson_gaussian,
    poisson_gaussian_torch,
    sample_params,
    sample_params_torch,
)

NoiseFn = Callable[..., np.ndarray]


def _gaussian(
    img: np.ndarray, rng: RngLike, *, sigma: float | None = None, quantize: bool = True
) -> np.ndarray:
    if sigma is None:
        raise PnganError("the 'gaussian' noise model needs sigma= (0-255 scale, e.g. 30, 50, 70)")
    return add_awgn(img, sigma, rng, quantize=quantize)


NOISE_MODELS: dict[str, NoiseFn] = {
    "gaussian": _gaussian,
    "poisson-gaussian": add_poisson_gaussian,
    "camera": add_camera_noise,
}


def get_noise_model(name: str) -> NoiseFn:
    """The noise function registered as ``name``; ``PnganError`` listing valid names otherwise."""
    try:
        return NOISE_MODELS[name]
    except (KeyError, TypeError):
        raise PnganError(
            f"unknown noise model {name!r}; choose one of: {', '.join(sorted(NOISE_MODELS))}"
        ) from None


__all__ = [
    "NOISE_MODELS",
    "CameraMeta",
    "CameraNoiseParams",
    "add_awgn",
    "add_camera_noise",
    "add_poisson_gaussian",
    "awgn_torch",
    "get_noise_model",
    "poisson_gaussian_torch",
    "process",
    "sample_noise_params",
    "sample_params",
    "sample_params_torch",
    "unprocess",
]
