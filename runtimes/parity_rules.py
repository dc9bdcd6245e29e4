"""Pass/fail rules shared by the export validation and ``pngan parity``, built so a wrong artifact fails.

Absolute PSNR vs torch alone passes a wrong artifact whenever the torch model changes its
input little: returning the input scores 54 dB against the tiny test DnCNN, other weights
48.7 dB, above the 45 dB FP16 gate. So the rules are measured against the *identity
baseline* PSNR(torch(x), x) -- what an artifact that returns its input scores:

- FP32/FP16: output PSNR vs torch >= ``fp32_db``/``fp16_db`` *and* >= the identity baseline
  + ``fp32_margin_db``/``fp16_margin_db`` on every input.
- INT8 denoiser with noisy/clean pairs: denoised PSNR drop vs torch <= ``int8_delta_db``
  *and* the artifact keeps >= ``int8_keep_gain`` of torch's denoising gain over the noisy
  input (an identity artifact keeps 0 %). When torch itself gains < 0.1 dB on the pairs
  that test cannot tell, and the output margin below decides instead.
- INT8 otherwise (generators; no pairs): output PSNR >= ``int8_output_db`` (generators) and
  the mean margin over the identity baseline on real images >= ``int8_margin_db``.

An identity artifact has margin 0 dB and keeps 0 % of the gain; one with other weights
scores below the identity baseline. Both fail every rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pngan.errors import PnganError

MIN_TORCH_GAIN_DB = 0.1
DEFAULT_MAX_DROP = 0.3  # dB of denoised PSNR an INT8 artifact may lose (parity's rule, the export's --max-drop)


@dataclass
class Thresholds:
    """Pass criteria (dB unless said otherwise); see the module docstring."""

    fp32_db: float = 60.0
    fp16_db: float = 45.0
    int8_delta_db: float = DEFAULT_MAX_DROP
    int8_output_db: float = 30.0
    fp32_margin_db: float = 30.0
    fp16_margin_db: float = 10.0
    int8_margin_db: float = 1.0
    int8_keep_gain: float = 0.5


@dataclass
class Scores:
    """What the rules look at, for one artifact."""

    worst_db: float  # lowest output PSNR vs torch
    margin_min_db: float  # lowest (PSNR vs torch - identity baseline), every input
    margin_mean_db: float  # mean of the same over real images
    delta_db: float | None = None  # denoised PSNR (artifact - torch) over the pairs
    torch_gain_db: float | None = None  # denoised PSNR (torch - noisy input) over the pairs
    gain_db: float | None = None  # denoised PSNR (artifact - noisy input)


def margin(db: float, base: float) -> float:
    """PSNR vs torch minus the identity baseline (-inf when torch returns its input exactly)."""
    return -math.inf if math.isinf(base) else db - base


def judge(precision: str, generator: bool, s: Scores, th: Thresholds) -> tuple[bool, str]:
    """``(passed, rule)`` for one artifact (see the module docstring)."""
    if precision in ("fp32", "fp16"):
        floor, m = (th.fp32_db, th.fp32_margin_db) if precision == "fp32" else (th.fp16_db, th.fp16_margin_db)
        return (s.worst_db >= floor and s.margin_min_db >= m,
                f"output PSNR >= {floor:g} dB and >= identity baseline + {m:g} dB")
    if precision != "int8":
        raise PnganError(f"no threshold for precision {precision!r}")
    beat = f"mean output PSNR >= identity baseline + {th.int8_margin_db:g} dB on real images"
    if not generator and s.delta_db is not None:
        drop_ok = -s.delta_db <= th.int8_delta_db
        rule = f"denoised PSNR drop <= {th.int8_delta_db:g} dB" if math.isfinite(th.int8_delta_db) else ""
        if s.torch_gain_db is not None and s.torch_gain_db >= MIN_TORCH_GAIN_DB:
            kept = (s.gain_db or 0.0) / s.torch_gain_db
            keep = f">= {th.int8_keep_gain:.0%} of torch's denoising gain kept"
            return drop_ok and kept >= th.int8_keep_gain, f"{rule} and {keep}" if rule else keep
        if not rule:
            return drop_ok and s.margin_mean_db >= th.int8_margin_db, beat
        return drop_ok and s.margin_mean_db >= th.int8_margin_db, f"{rule} and {beat}"
    if generator:
        return (s.worst_db >= th.int8_output_db and s.margin_mean_db >= th.int8_margin_db,
                f"output PSNR >= {th.int8_output_db:g} dB and {beat} (generator)")
    return s.margin_mean_db >= th.int8_margin_db, beat
