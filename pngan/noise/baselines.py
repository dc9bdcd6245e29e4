"""Hand-made noise baselines at a grid of levels, and the search for the best level by AKLD.

Each entry of ``GRIDS[model]`` is ``(label, fn(clean, rng) -> noisy)``. A level is chosen on one
set of pairs (e.g. the training pairs) and then applied to another, or chosen on the evaluation
pairs themselves (an oracle, the most favourable setting a baseline can have).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from pngan.models.inputs import sample_seed
from pngan.metrics.akld import akld
from pngan.noise.awgn import add_awgn
from pngan.noise.camera import add_camera_noise
from pngan.noise.poisson_gaussian import add_poisson_gaussian

Synth = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _camera(shot: float) -> Synth:
    read = float(np.exp(2.18 * np.log(shot) + 1.2))  # the read-shot relation of Brooks et al.
    return lambda c, r: add_camera_noise(c, r, params=(shot, read))


# From light DSLR noise (PolyU: std about 4.7 on 0-255) to phones (SIDD: std 8-38): AWGN sigma up to 50, shot up
# to 5e-2. A best level at either end of its grid says the grid, not the model, set the score (:func:`at_edge`).
GRIDS: dict[str, list[tuple[str, Synth]]] = {
    "gaussian": [(f"sigma {s:g}", lambda c, r, s=s: add_awgn(c, s, r))
                 for s in (1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 40, 50)],
    "poisson-gaussian": [(f"shot {a:g}, read {b:g}", lambda c, r, a=a, b=b: add_poisson_gaussian(c, r, a, b))
                         for a in (5e-5, 1e-4, 2e-4, 4e-4, 8e-4, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)
                         for b in (2e-6, 1e-5, 3e-5, 6e-5, 3e-4, 1e-3)],
    "camera": [(f"shot {a:g}", _camera(a)) for a in (2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2,
                                                        5e-2)],
}


def at_edge(model: str, label: str) -> bool:
    """Whether ``label`` is the first or last level of ``GRIDS[model]`` (a best level there may lie outside it)."""
    labels = [lab for lab, _ in GRIDS[model]]
    return label in (labels[0], labels[-1])


def samples(fn: Callable[[np.ndarray, int], np.ndarray], clean: Sequence[np.ndarray], names: Sequence[str],
            k: int, seed: int = 0) -> list[list[np.ndarray]]:
    """``k`` fakes per image from ``fn(clean, seed_int)``, each seeded by (seed, image name, sample)."""
    return [[fn(c, sample_seed(seed, n, j)) for j in range(k)] for c, n in zip(clean, names)]


def score(synth: Synth, clean: Sequence[np.ndarray], real: Sequence[np.ndarray], names: Sequence[str],
          k: int, seed: int = 0) -> float:
    """AKLD of a hand-made model over pairs, ``k`` seeded samples per image."""
    fakes = samples(lambda c, s: synth(c, np.random.default_rng(s)), clean, names, k, seed)
    return akld(clean, real, fakes)[0]


def best_level(model: str, clean: Sequence[np.ndarray], real: Sequence[np.ndarray], names: Sequence[str],
               k: int = 1, seed: int = 0) -> tuple[str, Synth, float]:
    """The grid level of ``model`` with the lowest AKLD on these pairs: ``(label, synth, akld)``."""
    scored = [(score(fn, clean, real, names, k, seed), label, fn) for label, fn in GRIDS[model]]
    best = min(scored, key=lambda t: t[0])
    return best[1], best[2], best[0]
