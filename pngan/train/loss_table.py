"""The one table of training losses: each term's weight key, function, stages and default weight.

A stage's loss is ``sum(weight * term)`` over its rows, in table order; ``losses.csv`` logs each term as
``loss/<name>``. A term whose weight is 0 is not computed (it logs 0) unless the row says ``always``
(computed and logged as a diagnostic). The weights are ``loss.<name>`` in the config, or
``experimental.<name>`` for the terms of trials that were not shipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import torch
import torch.nn.functional as F

from pngan.train.losses import (alignment_loss, content_change_loss, noise_chroma_loss, noise_kl_loss,
                                noise_level_loss, noise_quantile_loss, noise_spectrum_loss, ragan_g_loss)
from pngan.train.session import unwrap


class StepTerms:
    """What one step's terms read: the stage, the step, the noisy (``real``) and clean crops and, in stage
    pngan, the generator's sample ``fake``; values several terms share are made once, when first used."""

    def __init__(self, stage: Any, step: int, real: torch.Tensor, clean: torch.Tensor,
                 fake: torch.Tensor | None = None) -> None:
        self.stage, self.step, self.real, self.clean, self.fake = stage, step, real, clean, fake

    @cached_property
    def fake32(self) -> torch.Tensor:
        return self.fake.float()

    @cached_property
    def zero(self) -> torch.Tensor:
        """The value of a term that is not computed."""
        return torch.zeros((), device=self.real.device)

    @cached_property
    def fake2(self) -> torch.Tensor:
        """A second sample of the same crops (the generator's input noise stream 2)."""
        return self.stage.second_sample(self.clean, self.step)

    @cached_property
    def texture(self) -> torch.Tensor:
        """What the texture losses see: the sample, or with ``experimental.texture_on = "stochastic"``
        ``clean + (fake - fake2) / sqrt 2``, the part that changes with the seed."""
        if self.stage.cfg.experimental.texture_on == "stochastic":
            return self.clean + (self.fake32 - self.fake2) / math.sqrt(2.0)
        return self.fake32


def _l1(t: StepTerms) -> torch.Tensor:
    with t.stage.s.autocast():
        return F.l1_loss(t.stage.forward_train(t.real).float(), t.clean)


def _adversarial(t: StepTerms) -> torch.Tensor:
    n = t.real.shape[0]
    with t.stage.s.autocast():  # the discriminator unwrapped: no DDP reduction for it in the generator step
        logits = unwrap(t.stage.d)(torch.cat([t.real, t.fake])).float()
        return ragan_g_loss(logits[:n], logits[n:])


def _alignment(t: StepTerms) -> torch.Tensor:
    with t.stage.s.autocast():
        return alignment_loss(t.stage.dn, t.fake, t.real).float()


@dataclass(frozen=True)
class LossTerm:
    """One row: ``name`` is the weight's key in config section ``section``."""

    name: str
    fn: Callable[[StepTerms], torch.Tensor]
    stages: tuple[str, ...]
    default: float
    what: str
    always: bool = False      # computed and logged even at weight 0
    section: str = "loss"     # "loss" | "experimental"

    def weight(self, cfg: Any) -> float:
        return getattr(getattr(cfg, self.section), self.name)


PNGAN, DENOISERS = ("pngan",), ("denoiser", "finetune")

LOSSES: tuple[LossTerm, ...] = (
    LossTerm("l1", _l1, DENOISERS, 1.0, "L1(denoiser(noisy), clean)", always=True),
    LossTerm("adversarial", _adversarial, PNGAN, 0.1, "pixel-level relativistic-average GAN loss, generator side",
             always=True),
    LossTerm("alignment", _alignment, PNGAN, 1.0, "L1(Dn(fake), Dn(real)) through the frozen denoiser Dn",
             always=True),
    LossTerm("noise_std", lambda t: noise_level_loss(t.fake32, t.real, t.clean), PNGAN, 0.0,
             "L1 between the local (7x7) noise-std maps"),
    LossTerm("fidelity", lambda t: F.l1_loss(t.fake32, t.real), PNGAN, 0.0, "L1(fake, real)", always=True),
    LossTerm("noise_kl", lambda t: noise_kl_loss(t.fake32.clamp(0, 1), t.real, t.clean), PNGAN, 1.0,
             "per-pixel KL between the local noise-variance maps (AKLD as a loss)"),
    LossTerm("noise_spectrum", lambda t: noise_spectrum_loss(t.texture, t.real, t.clean), PNGAN, 0.0,
             "mean |log ratio| of the residuals' 2-D power spectra"),
    LossTerm("noise_quantile", lambda t: noise_quantile_loss(t.texture, t.real, t.clean), PNGAN, 0.0,
             "1-D Wasserstein distance of the residual values"),
    LossTerm("noise_chroma", lambda t: noise_chroma_loss(t.texture, t.real, t.clean), PNGAN, 0.0,
             "the spectrum loss on the residual's colour differences R-G, B-G, R-B"),
    LossTerm("content_change", lambda t: content_change_loss(t.fake32, t.fake2, t.real, t.clean), PNGAN, 0.0,
             "E[r1 r2] of two samples / real noise power: the seed-independent residual", section="experimental"),
    LossTerm("sharp_content", lambda t: t.stage.sharp_content(t.step, t.real, t.clean), PNGAN, 0.0,
             "content_change on crops of data.clean_dir (clean-only images)", section="experimental"),
)


def stage_losses(stage: str) -> tuple[LossTerm, ...]:
    """The rows of ``stage``, in table order."""
    return tuple(row for row in LOSSES if stage in row.stages)


def weighted_sum(rows: tuple[LossTerm, ...], cfg: Any, t: StepTerms) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(sum of weight * term, {name: term})``: every term first, in table order, then the sum, left to right."""
    values = {row.name: row.fn(t) if row.weight(cfg) or row.always else t.zero for row in rows}
    total = None
    for row in rows:
        part = row.weight(cfg) * values[row.name]
        total = part if total is None else total + part
    return total, values
