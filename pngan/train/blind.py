"""Blind real-noise training pairs: real pairs mixed with pairs synthesized from clean images.

Each sample of a batch comes from one of three sources, drawn with the config's fractions
(``data.mix_real`` / ``mix_generator`` / ``mix_camera``, normalised to sum 1):

* ``real``: a crop of a real (noisy, clean) training pair;
* ``generator``: a clean crop through a trained noise generator (``pngan.generate.sampler.generate``,
  seeded per sample with ``pngan.models.inputs.sample_seed``): the shipped smnet-s unless
  ``model.generator_weights`` names another; a generator given its noise (smnet-n) can have its
  residual scaled by a strength drawn log-uniformly in ``experimental.generator_strength`` (higher ISO);
* ``camera``: a clean crop through the camera pipeline (``pngan.noise.camera``: unprocess to
  RGGB raw, shot/read noise, bilinear demosaic, CCM, gamma, tone curve), whose noise std at
  mid-gray (0-255 scale) is drawn log-uniformly in ``data.camera_sigma`` (DSLR ≈ 1-5, phones
  ≈ 15-40), then, with probability ``data.jpeg_prob``, JPEG at a quality drawn uniformly in
  ``data.jpeg_quality`` (PIL, in memory), after CBDNet (Guo et al., CVPR 2019) and CycleISP
  (Zamir et al., CVPR 2020).

Clean images: the clean side of the real training pairs plus ``data.clean_dir`` when set.
As in :class:`pngan.train.data.CropBank`, item ``step`` depends only on ``(seed, rank, step)``,
so a resumed run sees the batches an uninterrupted one would.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from pngan.errors import PnganError
from pngan.noise.awgn import quantize_8bit
from pngan.noise.camera import READ_INTERCEPT, READ_JITTER, READ_SLOPE, CameraNoiseParams, add_raw_noise
from pngan.noise.camera import process, unprocess
from pngan.train.data import step_generator

SOURCES = ("real", "generator", "camera")
_PROBE = 1e-3  # raw-domain std of the probe that measures the pipeline's gain at mid-gray


@dataclass(frozen=True)
class BlindMix:
    """What :class:`BlindBank` mixes: source fractions, camera noise range (0-255 std at mid-gray), JPEG."""

    real: float = 1.0
    generator: float = 0.0
    camera: float = 0.0
    camera_sigma: tuple[float, float] = (1.5, 45.0)
    jpeg_quality: tuple[int, int] = (70, 95)
    jpeg_prob: float = 0.8
    camera_target: str = "clean"  # camera pairs' target: the clean image | "pipeline": it without noise
    generator_strength: tuple[float, float] = (1.0, 1.0)  # generator pairs' residual scale, log-uniform

    def __post_init__(self) -> None:
        fr = (self.real, self.generator, self.camera)
        if any(not isinstance(f, (int, float)) or not f >= 0 for f in fr) or sum(fr) <= 0:
            raise PnganError(f"data.mix_real/mix_generator/mix_camera must be >= 0 and not all 0, got {fr}")
        lo, hi = _pair(self.camera_sigma, "data.camera_sigma")
        if not 0 < lo <= hi:
            raise PnganError(f"data.camera_sigma must be [low, high] with 0 < low <= high, got {self.camera_sigma}")
        q0, q1 = _pair(self.jpeg_quality, "data.jpeg_quality")
        if not (float(q0).is_integer() and float(q1).is_integer() and 1 <= q0 <= q1 <= 100):
            raise PnganError(f"data.jpeg_quality must be integers [low, high] in 1..100, got {self.jpeg_quality}")
        if not 0 <= self.jpeg_prob <= 1:
            raise PnganError(f"data.jpeg_prob must be in [0, 1], got {self.jpeg_prob}")
        s0, s1 = _pair(self.generator_strength, "experimental.generator_strength")
        if not 0 < s0 <= s1:
            raise PnganError(f"experimental.generator_strength must be [low, high] with 0 < low <= high, "
                             f"got {self.generator_strength}")
        if self.camera_target not in ("clean", "pipeline"):
            raise PnganError(f"experimental.camera_target must be 'clean' or 'pipeline', got {self.camera_target!r}")

    @property
    def fractions(self) -> np.ndarray:
        f = np.array([self.real, self.generator, self.camera], dtype=np.float64)
        return f / f.sum()

    @classmethod
    def from_config(cls, cfg: Any) -> "BlindMix":
        """From a :class:`pngan.train.config.TrainConfig` (``data.*`` and the two ``experimental.*`` keys)."""
        d, e = cfg.data, cfg.experimental
        return cls(d.mix_real, d.mix_generator, d.mix_camera, tuple(d.camera_sigma), tuple(d.jpeg_quality),
                   d.jpeg_prob, e.camera_target, tuple(e.generator_strength))

    @property
    def synthetic(self) -> bool:
        return self.generator > 0 or self.camera > 0


def _pair(v: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError):
        raise PnganError(f"{name} must be two numbers [low, high], got {v!r}") from None
    return lo, hi


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (H x W x 3 in [0, 1]) saved as JPEG at ``quality`` (4:2:0, as phones) and decoded, in memory."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / np.float32(255.0)


def _params_for_sigma(sigma: float, meta_seed: np.random.SeedSequence, rng: np.random.Generator) -> CameraNoiseParams:
    """Shot/read (Brooks' log-log line, jittered) giving a noise std of ``sigma``/255 at sRGB mid-gray.

    Measured on a flat 32x32 mid-gray patch unprocessed with the crop's camera metadata (same
    seed, same draws): a small white raw probe gives the pipeline's gain, from which shot is
    solved (read on the line); a second small probe shaped like that noise (per Bayer plane)
    corrects both by the ratio of the target std to the predicted one (linear regime).
    """
    flat = np.full((32, 32, 3), 0.5, np.float32)
    raw, meta = unprocess(flat, np.random.default_rng(meta_seed))
    base = process(raw, meta).astype(np.float64)

    def response(probe_std: np.ndarray | float) -> float:  # interior: borders are demosaicked from fewer sites
        probe = (probe_std * rng.standard_normal(raw.shape)).astype(np.float32)
        return float((process(raw + probe, meta).astype(np.float64) - base)[2:-2, 2:-2].std())

    var = (sigma / 255.0 / (response(_PROBE) / _PROBE)) ** 2
    level, jitter = float(raw.mean()), float(rng.normal(0.0, READ_JITTER))
    lo, hi = math.log(1e-14), math.log(10.0)
    for _ in range(60):  # var(a) = a * level + read(a) is increasing in a: bisect log a
        mid = 0.5 * (lo + hi)
        read = math.exp(READ_SLOPE * mid + READ_INTERCEPT + jitter)
        lo, hi = (mid, hi) if math.exp(mid) * level + read < var else (lo, mid)
    a = math.exp(0.5 * (lo + hi))
    b = math.exp(READ_SLOPE * math.log(a) + READ_INTERCEPT + jitter)
    t = _PROBE / max(math.sqrt(a * level + b), 1e-12)
    k2 = (sigma / 255.0 / (response(t * np.sqrt(a * raw + b)) / t)) ** 2
    return CameraNoiseParams(a * k2, b * k2)


def camera_noisy(clean: np.ndarray, sigma: float, seed: Sequence[int], quality: int | None = None) -> np.ndarray:
    """A camera-pipeline noisy version of ``clean`` with std ≈ ``sigma`` (0-255) at mid-gray, then JPEG.

    ``seed`` (ints) fixes the camera metadata and the noise; ``quality=None``: no JPEG. 8-bit quantized.
    """
    return camera_pair(clean, sigma, seed, quality)[0]


def camera_pair(clean: np.ndarray, sigma: float, seed: Sequence[int],
                quality: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`camera_noisy`, the same pipeline without noise and JPEG): a pair that differs only by noise.

    The pipeline's bilinear demosaicing softens sharp detail, so a
    pair against ``clean`` itself also teaches a denoiser to sharpen; against the noiseless target it
    teaches denoising only.
    """
    ss = np.random.SeedSequence(list(seed))
    meta_seed, noise_seed = ss.spawn(2)
    rng = np.random.default_rng(noise_seed)
    params = _params_for_sigma(sigma, meta_seed, rng)
    raw, meta = unprocess(clean, np.random.default_rng(meta_seed))
    out = quantize_8bit(process(add_raw_noise(raw, params, rng), meta))
    return (jpeg(out, quality) if quality is not None else out), quantize_8bit(process(raw, meta))


def _log_uniform(lo: float, hi: float, g: torch.Generator) -> float:
    """A value drawn log-uniformly in ``[lo, hi]`` (one float64 draw from ``g``)."""
    u = float(torch.rand((), generator=g, dtype=torch.float64))
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def _crop(t: torch.Tensor, top: int, left: int, p: int, k: int) -> torch.Tensor:
    c = torch.rot90(t[:, top:top + p, left:left + p], k % 4, (1, 2))
    return c.flip(2) if k >= 4 else c


class BlindBank:
    """Step-indexed batches mixing real pairs, generator pairs and camera-pipeline pairs (see the module).

    ``real``: uint8 C x H x W (noisy, clean) tensors; ``clean``: uint8 C x H x W clean images to
    synthesize from; ``generator``: the noise generator (needed when its fraction is > 0). Each
    batch also carries per-sample ``source`` (index into ``SOURCES``), ``sigma`` (camera: target
    std; generator: its strength; real: 0) and ``jpeg`` (quality, 0 = none).
    """

    def __init__(self, real: Sequence[tuple[torch.Tensor, torch.Tensor]], clean: Sequence[torch.Tensor],
                 mix: BlindMix, generator: torch.nn.Module | None = None, names: Sequence[str] | None = None,
                 patch: int = 64, batch: int = 8, seed: int = 0, rank: int = 0) -> None:
        self.real, self.pool, self.mix = list(real), list(clean), mix
        self.names = list(names) if names is not None else [f"clean{i}" for i in range(len(self.pool))]
        self.gen = generator.eval() if generator is not None else None
        self.patch, self.batch, self.seed, self.rank = patch, batch, seed, rank
        self.cum = np.cumsum(mix.fractions)
        if mix.real > 0 and not self.real:
            raise PnganError("data.mix_real > 0 but there are no real training pairs (data.train_dir)")
        if mix.synthetic and not self.pool:
            raise PnganError("synthetic pairs need clean images: the clean side of data.train_dir or data.clean_dir")
        if mix.generator > 0 and self.gen is None:
            raise PnganError("data.mix_generator > 0 needs a noise generator")
        if self.gen is not None and tuple(mix.generator_strength) != (1.0, 1.0):
            from pngan.generate.sampler import check_strength

            check_strength(self.gen, next(float(x) for x in mix.generator_strength if float(x) != 1.0))
        for t in [c for _, c in self.real] + self.pool:
            if min(t.shape[1:]) < patch:
                raise PnganError(f"an image of {t.shape[2]}x{t.shape[1]} is smaller than patch {patch}")
        self.paired = True

    on_device = False  # synthesis runs on the CPU (numpy, PIL); batches are moved by the stage

    def to(self, device: torch.device | str) -> "BlindBank":
        return self

    def __len__(self) -> int:
        return 1 << 62

    def _position(self, t: torch.Tensor, g: torch.Generator) -> tuple[int, int, int]:
        h, w = t.shape[1:]
        p = self.patch
        top = int(torch.randint(h - p + 1, (1,), generator=g))
        left = int(torch.randint(w - p + 1, (1,), generator=g))
        return top, left, int(torch.randint(8, (1,), generator=g))

    def _sample(self, step: int, i: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int, float, int]:
        u = float(torch.rand((), generator=g, dtype=torch.float64))
        source = int(min(np.searchsorted(self.cum, u, side="right"), 2))
        if source == 0:
            j = int(torch.randint(len(self.real), (1,), generator=g))
            noisy, clean = self.real[j]
            top, left, k = self._position(clean, g)
            return _crop(noisy, top, left, self.patch, k), _crop(clean, top, left, self.patch, k), 0, 0.0, 0
        j = int(torch.randint(len(self.pool), (1,), generator=g))
        top, left, k = self._position(self.pool[j], g)
        clean = _crop(self.pool[j], top, left, self.patch, k)
        img = clean.permute(1, 2, 0).numpy().astype(np.float32) / np.float32(255.0)
        if source == 1:
            from pngan.generate.sampler import generate
            from pngan.models.inputs import sample_seed

            s0, s1 = (float(s) for s in self.mix.generator_strength)
            strength = 1.0 if s0 == s1 == 1.0 else _log_uniform(s0, s1, g)  # no draw at the default: same batches
            noisy = generate(self.gen, img, seed=sample_seed(self.seed, f"{self.rank}/{self.names[j]}",
                                                             step * self.batch + i), strength=strength)
            sigma, quality = strength, 0
        else:
            lo, hi = self.mix.camera_sigma
            sigma = _log_uniform(lo, hi, g)
            q0, q1 = (int(q) for q in self.mix.jpeg_quality)
            quality = int(torch.randint(q0, q1 + 1, (1,), generator=g))
            if float(torch.rand((), generator=g, dtype=torch.float64)) >= self.mix.jpeg_prob:
                quality = 0
            noisy, target = camera_pair(img, sigma, (self.seed, self.rank, step, i, 2), quality or None)
            if self.mix.camera_target == "pipeline":
                clean = torch.from_numpy(np.round(target * 255).astype(np.uint8)).permute(2, 0, 1)
        noisy_t = torch.from_numpy(np.round(noisy * 255).astype(np.uint8)).permute(2, 0, 1)
        return noisy_t, clean, source, sigma, quality

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        g = step_generator(self.seed, self.rank, step, stream=2)
        items = [self._sample(step, i, g) for i in range(self.batch)]
        return {"noisy": torch.stack([it[0] for it in items]).float() / 255.0,
                "clean": torch.stack([it[1] for it in items]).float() / 255.0,
                "source": torch.tensor([it[2] for it in items]),
                "sigma": torch.tensor([it[3] for it in items], dtype=torch.float32),
                "jpeg": torch.tensor([it[4] for it in items])}


def blind_bank(cfg: Any, pairs: Sequence[Any], rank: int = 0) -> BlindBank:
    """The :class:`BlindBank` of a training config (``cfg.data`` mix keys, ``model.generator[_weights]``)."""
    from pngan.data.clean import clean_images
    from pngan.data.pairs import check_pair_sizes
    from pngan.io.images import read_image, to_uint8

    d, mix = cfg.data, BlindMix.from_config(cfg)

    def chw(img: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(to_uint8(img)).permute(2, 0, 1).contiguous()

    real, pool, names, seen = [], [], [], {}
    for p in pairs:  # a pair listed K times (data.train_more "PATH*K") is read and held once
        if (p.noisy, p.clean) not in seen:
            n, c = read_image(p.noisy), read_image(p.clean)
            check_pair_sizes(n, c, p)
            seen[(p.noisy, p.clean)] = (chw(n), chw(c))
        real.append(seen[(p.noisy, p.clean)])
        pool.append(real[-1][1])
        names.append(p.clean.name)
    for f in clean_images(d.clean_dir) if d.clean_dir else []:
        pool.append(chw(read_image(f)))
        names.append(f.name)
    gen = None
    if mix.generator > 0:
        from pngan.models import load_model

        w = cfg.model.generator_weights
        gen = load_model(None, w) if w not in ("", "shipped") else load_model(cfg.model.generator)
    return BlindBank(real, pool, mix, gen, names, patch=d.patch, batch=d.batch, seed=cfg.run.seed, rank=rank)
