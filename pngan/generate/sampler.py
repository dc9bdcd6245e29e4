"""Sampling realistic noisy images from a trained generator (SMNet): clean + AWGN -> fake noisy.

The generator's stochasticity is the AWGN it is fed, so a seed fixes the sample.
Batch commands derive each sample's seed from ``(seed, image name, k)`` with
:func:`pngan.models.inputs.sample_seed`, so two images never share one noise field and a run repeats
bit for bit. The AWGN level is stored with the weights (``input_sigma`` in the safetensors
metadata); ``DEFAULT_INPUT_SIGMA`` is used when absent.
"""

from __future__ import annotations

import os

import numpy as np
import torch.nn as nn

from pngan.models.inference import InferenceModel
from pngan.models.inputs import DEFAULT_INPUT_SIGMA, input_sigma
from pngan.models.sampling import (_to_image, awgn_input, check_strength, generate,  # noqa: F401  (re-exported)
                                   generator_input, noise_input)
from pngan.models.smnet_cond import takes_fingerprint


class NoiseGenerator:
    """A trained generator ready to sample: ``gen(clean, seed)`` -> fake noisy (H, W, 3) float32.

    Built by :func:`open_generator` from weights (PyTorch) or from an exported artifact (its backend);
    both feed the same seeded input (:func:`generator_input`), so their samples agree within the
    artifact's precision.
    """

    name: str
    sigma: float

    def __call__(self, clean: np.ndarray, seed: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the backend (idempotent)."""


class _TorchGenerator(NoiseGenerator):
    def __init__(self, model: nn.Module, device: str, strength: float = 1.0, like=None) -> None:
        check_strength(model, strength)
        self.net, self.device = InferenceModel(model).to(device), device  # wrapped once, not per image
        self.name, self.sigma = str(getattr(model, "pngan_name", type(model).__name__)), input_sigma(model)
        self.strength, self.cond, self.like = strength, None, None
        if takes_fingerprint(model):
            from pngan.realism.condition import condition_vector, reference_fingerprint

            fp, self.like = reference_fingerprint(like)
            self.cond = condition_vector(fp)
        elif like is not None:
            from pngan.errors import PnganError

            raise PnganError(f"--like needs a generator told the camera by a fingerprint (smnet-c); {self.name} "
                             "has one kind of noise")

    def __call__(self, clean: np.ndarray, seed: int) -> np.ndarray:
        return generate(self.net, clean, seed, sigma=self.sigma, device=self.device, strength=self.strength,
                        cond=self.cond)


class _ArtifactGenerator(NoiseGenerator):
    def __init__(self, runner, sigma: float) -> None:
        m = runner.manifest
        self.runner, self.sigma = runner, sigma
        self.name = f"{m['model']} ({runner.backend} {m['precision']})"

    def __call__(self, clean: np.ndarray, seed: int) -> np.ndarray:
        x = generator_input(clean, seed, self.sigma).numpy()
        h, w = x.shape[2:]
        mh, mw = (self.runner.min_side,) * 2 if isinstance(self.runner.min_side, int) else self.runner.min_side
        if h < mh or w < mw:  # below the artifact's shape range: edge-pad, run, crop
            x = np.pad(x, ((0, 0), (0, 0), (0, max(0, mh - h)), (0, max(0, mw - w))), mode="edge")
        # feed(_run), not run(): run refuses inputs outside [0, 1], and clean + AWGN is outside it at dark and
        # bright pixels, as the generator was trained (and as the torch path feeds it)
        y = self.runner.feed(self.runner._run)(np.ascontiguousarray(x, dtype=np.float32))
        return _to_image(np.clip(y[:, :, :h, :w], 0.0, 1.0), True)

    def close(self) -> None:
        self.runner.close()


def _weights_stem(weights: str | os.PathLike | None) -> str:
    """The name of the generator file ``weights`` names (the shipped default's when ``None``)."""
    from pathlib import Path

    from pngan.models.shipped import default_weights
    from pngan.weights import DEFAULT_GENERATOR, resolve

    return Path(resolve(weights) if weights is not None else default_weights(DEFAULT_GENERATOR)).stem


def open_generator(weights: str | os.PathLike | None = None, artifact: str | os.PathLike | None = None,
                   device: str = "cpu", strength: float = 1.0, like=None) -> NoiseGenerator:
    """The generator in ``weights`` (a file or a shipped name; default: the shipped default generator),
    run in PyTorch on ``device``, or the exported one in the ``artifact`` folder; ``PnganError`` for a
    model that is not a noise generator. ``like``: the camera of a generator told it by a fingerprint
    (:func:`pngan.realism.condition.reference_fingerprint`: noisy photos, a JSON or a preset)."""
    from pngan.errors import PnganError
    from pngan.models import load_model, names, spec
    from pngan.weights import DEFAULT_GENERATOR

    generators = ", ".join(n for n in names() if spec(n).kind == "generator")
    if artifact is None:
        model = load_model(DEFAULT_GENERATOR if weights is None else None, weights).to(device)
        kind = spec(model.pngan_name).kind
        if kind != "generator":
            raise PnganError(f"{weights}: holds a {model.pngan_name} {kind}, not a noise generator "
                             f"(generators: {generators})")
        gen = _TorchGenerator(model, device, strength, like)
        gen.name = f"{gen.name} ({_weights_stem(weights)})"  # which file: `pngan generate` says it
        if gen.like is not None:
            gen.name += f", noise like {gen.like}"
        return gen
    import warnings

    from pngan.errors import PnganWarning
    from pngan.runtimes.opening import open_artifact

    if strength != 1.0:
        raise PnganError("--strength needs a generator given its noise (smnet-n), which runs in PyTorch (--weights)")
    if like is not None:
        raise PnganError("--like needs a generator told the camera (smnet-c), which runs in PyTorch (--weights)")
    runner = open_artifact(artifact)
    m = runner.manifest
    kind = spec(m["model"]).kind
    if kind != "generator":
        runner.close()
        hint = "; use `pngan denoise --artifact`" if kind == "denoiser" else ""
        raise PnganError(f"{artifact}: the artifact holds {m['model']!r}, a {kind}, not a noise generator{hint}")
    sigma = m.get("input_sigma")
    if sigma is None:
        warnings.warn(f"{artifact}: the manifest records no input_sigma; using {DEFAULT_INPUT_SIGMA:g}",
                      PnganWarning, stacklevel=2)
        sigma = DEFAULT_INPUT_SIGMA
    return _ArtifactGenerator(runner, float(sigma))
