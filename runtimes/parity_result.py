"""What ``pngan parity`` finds, typed: one ``ArtifactResult`` per artifact inside a ``ParityReport``.

The report module renders it (JSON, Markdown, terminal table, PNG); nothing here formats text
except the one-line verdict the CLI exits with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pngan.runtimes.parity_rules import Thresholds

Status = Literal["pass", "fail", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skipped")

# what the numbers are: the denoised columns use pngan denoise's default (--metrics paper) metric
METRICS = {
    "output": "PSNR of the artifact's float output vs torch's (no quantization), and the max abs difference",
    "denoised": "paper: PSNR on the float output clamped to [0, 1] and SSIM on the Y channel (11x11 Gaussian), "
                "as `pngan denoise --metrics paper` (its default)",
}


@dataclass
class OutputRow:
    """Output parity on one input: PSNR vs torch and what returning the input would score."""

    input: Literal["random", "real"]
    size: int | list[int]
    psnr_db: float
    max_abs: float
    identity_db: float


@dataclass
class Denoised:
    """Mean denoising scores over the pairs (paper metric), the artifact's and torch's on the same tiles."""

    pairs: int
    psnr_torch: float
    ssim_torch: float
    psnr: float
    ssim: float
    psnr_noisy: float
    skipped_pairs: list[str] = field(default_factory=list)
    delta_psnr: float = field(init=False)  # artifact - torch
    delta_ssim: float = field(init=False)
    gain_torch: float = field(init=False)  # torch - noisy input
    gain: float = field(init=False)  # artifact - noisy input

    def __post_init__(self) -> None:
        self.delta_psnr, self.delta_ssim = self.psnr - self.psnr_torch, self.ssim - self.ssim_torch
        self.gain_torch, self.gain = self.psnr_torch - self.psnr_noisy, self.psnr - self.psnr_noisy


@dataclass
class Latency:
    """Milliseconds at one input size, with torch's p50 at the same size when measured."""

    p50_ms: float
    p90_ms: float
    min_ms: float
    torch_p50_ms: float | None = None
    speedup_vs_torch: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.speedup_vs_torch = self.torch_p50_ms / self.p50_ms if self.torch_p50_ms and self.p50_ms else None


@dataclass
class Reference:
    """The torch reference an artifact was compared with, and what did not match its manifest."""

    weights: str
    notes: list[str] = field(default_factory=list)


@dataclass
class ArtifactResult:
    """One artifact's parity entry; ``status`` is ``error`` until every check ran."""

    artifact: str
    name: str
    status: Status = "error"
    message: str | None = None
    model: str | None = None
    target: str | None = None
    precision: str | None = None
    kind: Literal["denoiser", "generator"] | None = None
    bare_model_file: bool = False
    size_bytes: int | None = None
    backend: str | None = None
    device: str | None = None
    static_shape: list[int] | None = None
    reference: Reference | None = None
    outputs: list[OutputRow] = field(default_factory=list)
    output_psnr_min_db: float | None = None
    max_abs: float | None = None
    identity_margin_min_db: float | None = None
    identity_margin_mean_db: float | None = None
    denoised: Denoised | None = None
    latency: dict[str, Latency] = field(default_factory=dict)
    rule: str | None = None
    budget_db: float | None = None  # the denoised-PSNR drop its export allowed (manifest validation.max_drop_db)
    export_drops: list[dict[str, Any]] = field(default_factory=list)  # the export's per-folder drops, as recorded
    float_layers: list[str] | None = None  # a mixed INT8 artifact's layers kept in float


@dataclass
class TorchRow:
    """The torch reference of one (model, weights): denoised scores on the whole pairs, latency per size."""

    model: str
    weights: str
    latency: dict[str, Latency] = field(default_factory=dict)
    denoised_psnr: float | None = None
    denoised_ssim: float | None = None


@dataclass
class ParityReport:
    """Every artifact under ``root`` against torch, and how they were compared."""

    root: str
    data: str
    thresholds: Thresholds
    sizes: list[int | list[int]]
    latency_sizes: list[int]
    repeats: int
    threads: int | None
    seed: int
    artifacts: list[ArtifactResult] = field(default_factory=list)
    torch: list[TorchRow] = field(default_factory=list)
    seconds: float = 0.0
    metrics: dict[str, str] = field(default_factory=lambda: dict(METRICS))

    @property
    def summary(self) -> dict[str, int]:
        return {s: sum(a.status == s for a in self.artifacts) for s in STATUSES}

    @property
    def ok(self) -> bool:
        return not any(a.status in ("fail", "error") for a in self.artifacts)

    def failures(self, strict: bool = False) -> list[ArtifactResult]:
        """Artifacts that fail the run: failed or broken ones, and with ``strict`` skipped ones too."""
        return [a for a in self.artifacts if a.status in ("fail", "error") or (strict and a.status == "skipped")]

    def verdict(self, strict: bool = False) -> str | None:
        """``None`` when the run passes, else one line naming the first bad artifact."""
        bad = self.failures(strict)
        if not bad:
            return None
        first = bad[0]
        why = first.message or (first.rule if "budget" in (first.rule or "") else f"{first.rule} not met")
        return (f"parity failed for {len(bad)} of {len(self.artifacts)} artifacts "
                f"(first: {first.name}: {first.status}: {why})")
