"""What a generator is fed, below everything that runs one: the AWGN level stored with its weights
(``input_sigma`` in the safetensors metadata, ``DEFAULT_INPUT_SIGMA`` when absent) and the seed of each sample.

Batch commands derive each sample's seed from ``(seed, image name, k)`` with :func:`sample_seed`, so two images
never share one noise field and a run repeats bit for bit. ``pngan.generate``, ``pngan.runtimes``, ``pngan.noise``
and ``pngan.export`` all read these from here, so none of them imports another for them.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch.nn as nn

from pngan.models.inference import InferenceModel

DEFAULT_INPUT_SIGMA = 5.0  # on the 0-255 scale


def sample_seed(seed: int, identity: str, k: int = 0) -> int:
    """Seed of sample ``k`` of the image called ``identity`` (its file name) in a run seeded ``seed``.

    Different images (and samples) get independent noise; the same triple always gives the same seed.
    """
    mixed = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(identity.encode("utf-8")), int(k)])
    return int(mixed.generate_state(1, dtype=np.uint64)[0]) & ((1 << 63) - 1)


def input_sigma(model: nn.Module) -> float:
    """The AWGN sigma (0-255 scale) the generator was trained with."""
    net = model.net if isinstance(model, InferenceModel) else model
    return float(getattr(net, "pngan_meta", {}).get("input_sigma", DEFAULT_INPUT_SIGMA))
