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
import torch
import torch.nn as nn

from pngan.models.inference import InferenceModel
from pngan.models.inputs import DEFAULT_INPUT_SIGMA, input_sigma
from pngan.models.smnet_noise import takes_noise

def awgn_input(clean: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Generator input: ``clean + sigma/255 * n`` with ``n`` drawn from ``generator``."""
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + (sigma / 255.0) * noise.to(clean.device)


def generator_input(clean: np.ndarray, seed: int, sigma: float) -> torch.Tensor:
    """The generator's input for a clean RGB (H, W, 3) image: 1 x 3 x H x W ``clean + sigma/255 * N(0, 1)``,
    the noise drawn on the CPU from a generator seeded ``seed`` (the same on every device and backend)."""
    x = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].float()
    return awgn_input(x, sigma, torch.Generator().manual_seed(int(seed)))


def noise_input(clean: np.ndarray, seed: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of a generator given its noise (``takes_noise``): 1 x 3 x H x W ``clean`` and 1 x ``channels``
    x H x W ``N(0, 1)``, drawn on the CPU from a generator seeded ``seed``."""
    x = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].float()
    z = torch.randn((1, channels, *x.shape[-2:]), generator=torch.Generator().manual_seed(int(seed)))
    return x, z


def _to_image(y: np.ndarray, quantize: bool) -> np.ndarray:
    """1 x 3 x H x W output -> (H, W, 3) float32, rounded to 8-bit levels when ``quantize``."""
    y = np.ascontiguousarray(y[0].transpose(1, 2, 0), dtype=np.float32)
    return (np.round(y * 255.0) / 255.0).astype(np.float32) if quantize else y


@torch.inference_mode()
def generate(model: nn.Module, clean: np.ndarray, seed: int, sigma: float | None = None,
             device: str = "cpu", quantize: bool = True, strength: float = 1.0) -> np.ndarray:
    """One fake noisy sample for a clean RGB (H, W, 3) float image in [0, 1]; deterministic per seed.

    ``strength`` scales the residual of a generator given its noise (smnet-n), whose residual is all noise: 2 is
    the same texture at twice the noise std, as at a higher ISO."""
    net = model if isinstance(model, InferenceModel) else InferenceModel(model).to(device)
    check_strength(net, strength)
    if takes_noise(net):
        x, z = noise_input(clean, seed, net.net.noise_channels)
        x, raw = x.to(device), net.net(x.to(device), z.to(device))
        y = (x + strength * (raw - x)).clamp(0.0, 1.0) if strength != 1.0 else raw.clamp(0.0, 1.0)
        return _to_image(y.float().cpu().numpy(), quantize)
    sigma = input_sigma(model) if sigma is None else sigma
    inp = generator_input(clean, seed, sigma).to(device)
    return _to_image(net(inp).float().cpu().numpy(), quantize)


def check_strength(model: nn.Module | None, strength: float) -> None:
    """``PnganError`` unless ``strength`` is a positive number, and 1 for a generator fed ``clean + AWGN``
    (whose residual is partly a fixed change of the image, which must not be scaled)."""
    from pngan.errors import PnganError

    if not (np.isfinite(strength) and strength > 0):
        raise PnganError(f"--strength must be a positive number, got {strength}")
    if model is not None and strength != 1.0 and not takes_noise(model):
        name = getattr(getattr(model, "net", model), "pngan_name", "this generator")
        raise PnganError(f"--strength needs a generator given its noise (smnet-n); {name} is fed clean + AWGN, "
                         f"and part of its residual is a change of the image, not noise")


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
    def __init__(self, model: nn.Module, device: str, strength: float = 1.0) -> None:
        check_strength(model, strength)
        self.net, self.device = InferenceModel(model).to(device), device  # wrapped once, not per image
        self.name, self.sigma = str(getattr(model, "pngan_name", type(model).__name__)), input_sigma(model)
        self.strength = strength

    def __call__(self, clean: np.ndarray, seed: int) -> np.ndarray:
        return generate(self.net, clean, seed, sigma=self.sigma, device=self.device, strength=self.strength)


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
                   device: str = "cpu", strength: float = 1.0) -> NoiseGenerator:
    """The generator in ``weights`` (a file or a shipped name; default: the shipped default generator),
    run in PyTorch on ``device``, or the exported one in the ``artifact`` folder; ``PnganError`` for a
    model that is not a noise generator."""
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
        gen = _TorchGenerator(model, device, strength)
        gen.name = f"{gen.name} ({_weights_stem(weights)})"  # which file: `pngan generate` says it
        return gen
    import warnings

    from pngan.errors import PnganWarning
    from pngan.runtimes.opening import open_artifact

    if strength != 1.0:
        raise PnganError("--strength needs a generator given its noise (smnet-n), which runs in PyTorch (--weights)")
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
