"""Signal-dependent Poisson–Gaussian noise: ``Var[y | x] = a·x + b`` per channel.

Two modes:

* Gaussian (heteroscedastic) approximation: ``y = x + sqrt(a·x + b) · n``, ``n ~ N(0, 1)``.
* Exact: ``y = a · Poisson(x / a) + N(0, b)``.

``a`` (``shot``) and ``b`` (``read``) are variances on the [0, 1] scale.

Parameter ranges (``sample_params``), after Brooks et al., "Unprocessing Images for
Learned Raw Denoising" (CVPR 2019):

* shot ``a`` log-uniform in [1e-4, 1e-2]: at mid-grey this is a noise std of ≈1.8/255
  (clean daylight) to ≈18/255 (dim indoor), the span of smartphone sRGB noise.
* read ``b``: ``log b = 2.18·log a + 1.20 + N(0, 0.26²)`` (the paper's log-log fit), giving
  b ≈ 6e-9 … 1.4e-4 (std up to ≈3/255).
* each channel's ``a`` and ``b`` get an extra log-normal jitter (σ = 0.1), because white
  balance amplifies red/blue differently from green in a real sRGB image.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from pngan.errors import PnganError
from pngan.noise.awgn import RngLike, as_generator, check_image, quantize_8bit

SHOT_RANGE = (1e-4, 1e-2)
READ_SLOPE, READ_INTERCEPT, READ_JITTER = 2.18, 1.20, 0.26
CHANNEL_JITTER = 0.1
POISSON_MAX_LAM = 1e18  # numpy's Generator.poisson rejects lam above ~9.2e18

ParamLike = Union[float, np.ndarray, list, tuple]


def sample_params(rng: RngLike) -> tuple[np.ndarray, np.ndarray]:
    """Random realistic ``(shot, read)``, each a float64 array of 3 per-channel variances."""
    g = as_generator(rng)
    log_a = g.uniform(np.log(SHOT_RANGE[0]), np.log(SHOT_RANGE[1]))
    log_b = READ_SLOPE * log_a + READ_INTERCEPT + g.normal(0.0, READ_JITTER)
    jitter = g.normal(0.0, CHANNEL_JITTER, size=(2, 3))
    return np.exp(log_a + jitter[0]), np.exp(log_b + jitter[1])


def _per_channel(value: ParamLike, name: str) -> np.ndarray:
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PnganError(f"{name} must be a scalar or 3 per-channel values >= 0, got {value!r}") from None
    if v.ndim == 0:
        v = np.full(3, float(v))
    if v.shape != (3,) or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise PnganError(f"{name} must be a scalar or 3 per-channel values >= 0, got {value!r}")
    return v


def add_poisson_gaussian(
    img: np.ndarray,
    rng: RngLike,
    shot: ParamLike | None = None,
    read: ParamLike | None = None,
    *,
    exact: bool = False,
    quantize: bool = True,
) -> np.ndarray:
    """Add Poisson–Gaussian noise to an H×W×3 image in [0, 1].

    ``shot``/``read`` are scalars or per-channel triples; when both are ``None`` they are
    drawn with ``sample_params(rng)``, when only one is ``None`` it is 0.
    """
    x = check_image(img)
    g = as_generator(rng)
    if shot is None and read is None:
        a, b = sample_params(g)
    else:
        a = _per_channel(0.0 if shot is None else shot, "shot")
        b = _per_channel(0.0 if read is None else read, "read")
    if exact:
        xp = np.clip(x.astype(np.float64), 0.0, None)
        safe_a = np.where(a > 0, a, 1.0)
        with np.errstate(over="ignore"):  # inf is caught as huge just below
            lam = xp / safe_a
        huge = lam > POISSON_MAX_LAM  # numpy cannot sample these; relative shot noise there is < 1e-9
        counts = np.where((a > 0) & ~huge, g.poisson(np.where(huge, 0.0, lam)) * safe_a, xp)
        y = counts + np.sqrt(b) * g.standard_normal(x.shape)
    else:
        var = np.clip(a * x + b, 0.0, None)
        y = x + np.sqrt(var) * g.standard_normal(x.shape)
    y = y.astype(np.float32)
    return quantize_8bit(y) if quantize else y


def sample_params_torch(
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel ``(shot, read)`` of shape (n, 3); same law as ``sample_params``."""
    u = torch.rand(n, 1, generator=generator, dtype=torch.float64)
    log_a = np.log(SHOT_RANGE[0]) + u * (np.log(SHOT_RANGE[1]) - np.log(SHOT_RANGE[0]))
    z = torch.randn(n, 7, generator=generator, dtype=torch.float64)
    log_b = READ_SLOPE * log_a + READ_INTERCEPT + READ_JITTER * z[:, :1]
    a = torch.exp(log_a + CHANNEL_JITTER * z[:, 1:4])
    b = torch.exp(log_b + CHANNEL_JITTER * z[:, 4:7])
    return a.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)


def _as_map(v: float | torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:
    """Broadcast a scalar, (N,) per-sample or (N, C) per-sample-channel value to N×C×1×1."""
    t = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        return t
    if t.ndim == 1 and t.shape[0] in (1, x.shape[0]):
        return t.view(-1, 1, 1, 1)
    if t.ndim == 2 and t.shape[0] in (1, x.shape[0]) and t.shape[1] in (1, x.shape[1]):
        return t[:, :, None, None]
    raise PnganError(f"{name} must be a scalar, (N,) or (N, C) tensor, got shape {tuple(t.shape)}")


def poisson_gaussian_torch(
    x: torch.Tensor,
    shot: float | torch.Tensor,
    read: float | torch.Tensor,
    generator: torch.Generator | None = None,
    exact: bool = False,
) -> torch.Tensor:
    """Poisson–Gaussian noise for an N×C×H×W batch in [0, 1] (training use, no quantization).

    ``shot``/``read``: scalar, per-sample (N,) or per-sample-channel (N, C); see
    ``sample_params_torch``. A per-channel-only value must be passed as shape (1, C).
    """
    if x.ndim != 4:
        raise PnganError(f"expected an N×C×H×W tensor, got shape {tuple(x.shape)}")
    a, b = _as_map(shot, x, "shot"), _as_map(read, x, "read")
    if exact:
        safe_a = torch.where(a > 0, a, torch.ones_like(a))
        rate = x.clamp_min(0) / safe_a
        counts = torch.where(a > 0, torch.poisson(rate, generator=generator) * safe_a, x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return counts + b.sqrt() * noise
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + (a * x + b).clamp_min(0).sqrt() * noise
