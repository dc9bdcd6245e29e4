"""Training configuration: TOML files mapped onto dataclasses, every value overridable as ``section.key=value``."""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pngan.errors import PnganError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(PnganError):
    """A config file or override is invalid (unknown key, wrong type)."""


@dataclass
class DataConfig:
    train_dir: str = ""          # paired folder (input/ + groundtruth/) for real noisy/clean pairs; stage denoiser:
                                 # "PATH*K" takes its pairs K times
    train_more: tuple = ()       # stages denoiser, pngan: more paired folders, each "PATH" or "PATH*K" (its pairs
                                 # K times, so that 8 phone pairs are not drowned by 80 DSLR ones)
    val_dir: str = ""            # held-out pairs ("" = none)
    clean_dir: str = ""          # finetune stage: clean images to generate noisy ones from; denoiser stage: more
                                 # clean images for synthesized pairs (with the clean side of train_dir); pngan
                                 # stage: clean-only images (no real counterpart) for experimental.sharp_content
    # Denoiser stage, blind mix (pngan/train/blind.py): fraction of each batch's samples from real pairs, from the
    # noise generator (model.generator_weights, default the shipped smnet-s) and from the camera pipeline.
    mix_real: float = 1.0
    mix_generator: float = 0.0
    mix_camera: float = 0.0
    camera_sigma: tuple = (1.5, 45.0)  # camera pairs: noise std at mid-gray, 0-255 scale, log-uniform
    jpeg_quality: tuple = (70, 95)     # camera pairs: JPEG quality range (uniform), applied with jpeg_prob
    jpeg_prob: float = 0.8
    patch: int = 64
    batch: int = 8
    crop_align: int = 1           # crop corners on multiples of this (8: keep the images' JPEG block grid)
    workers: int = 0
    pin_memory: bool = True
    on_device: bool = False      # CUDA: keep the uint8 images on the GPU and cut crops there (no H2D per step)


@dataclass
class ModelConfig:
    """Networks. The keys only stage pngan reads default to the shipped generator's recipe
    (scripts/configs/smnet-s_polyu100.toml)."""

    generator: str = "smnet-s"
    generator_config: dict = field(default_factory=dict)
    discriminator: str = "discriminator"
    discriminator_config: dict = field(default_factory=lambda: {"n_feat": 16, "depth": 3})  # smnet-s_polyu100's
    denoiser: str = "dncnn"       # the frozen alignment denoiser (stage pngan) / the trained one
    denoiser_config: dict = field(default_factory=dict)
    denoiser_weights: str = "shipped"  # "shipped" | a weights file | "" (stage denoiser: from scratch)
    generator_weights: str = ""   # finetune stage: the trained generator; pngan stage: start from it
    input_sigma: float = 3.0      # AWGN fed to the generator, 0-255 scale
    qat: bool = False             # stage denoiser: train through INT8 fake quantization (pngan/train/qat.py)


@dataclass
class LossConfig:
    """Loss weights; what each term is and the stages it applies to: ``pngan.train.loss_table.LOSSES``.
    Defaults: the shipped default recipes (stage pngan: scripts/configs/smnet-s_polyu100.toml)."""

    l1: float = 1.0               # stages denoiser, finetune: L1(denoiser(noisy), clean)
    adversarial: float = 0.1      # pixel-level relativistic-average GAN loss (generator side)
    alignment: float = 1.0        # L1(Dn(fake), Dn(real)), Dn frozen
    fidelity: float = 0.0         # L1(fake, real)
    noise_std: float = 0.0        # L1 between local noise std maps of fake and real (7x7 window)
    noise_kl: float = 1.0         # per-pixel KL between local noise variance maps (AKLD as a loss)
    noise_spectrum: float = 0.0   # mean |log ratio| of the residuals' 2-D power spectra (texture, correlation)
    noise_quantile: float = 0.0   # 1-D Wasserstein distance of the residual values (histogram shape)
    noise_chroma: float = 0.0     # the spectrum loss on the colour differences R-G, B-G, R-B (chroma noise)


@dataclass
class OptimConfig:
    steps: int = 2000
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    schedule: str = "cosine"      # "cosine" | "constant"
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    fused: bool = True            # CUDA: fused Adam kernels (one launch for all parameters)


@dataclass
class RunConfig:
    out_dir: str = "runs/pngan"
    seed: int = 0
    device: str = "auto"          # auto | cpu | cuda
    amp: str = "auto"             # auto (bf16 on CUDA) | bf16 | off
    channels_last: bool = True
    compile: bool = False
    threads: int = 0              # 0 = all cores (CPU)
    ckpt_every: int = 100
    log_every: int = 10
    val_every: int = 250
    image_every: int = 250
    val_samples: int = 4          # fakes per image for AKLD
    val_crop: int = 256           # centre crop of each validation pair (0 = whole images)
    finetune_samples: int = 2     # generated samples per clean image (finetune stage)


@dataclass
class ExperimentalConfig:
    """Knobs of trials that were measured and not shipped (docs/training.md#experimental-knobs): no shipped
    recipe sets them, and their defaults leave training as if they did not exist."""

    content_change: float = 0.0   # stage pngan, loss weight: E[r1 r2] of two samples / real noise power
    sharp_content: float = 0.0    # stage pngan, loss weight: the same on crops of data.clean_dir (clean-only)
    texture_on: str = "total"     # stage pngan: the residual the texture losses see: "total" (fake - clean) |
                                  # "stochastic" ((fake - fake2) / sqrt 2, a second sample per step)
    camera_target: str = "clean"  # stage denoiser: camera pairs' target: "clean" | "pipeline" (the pipeline
                                  # without noise, so the pair differs by noise and JPEG only)
    generator_strength: tuple = (1.0, 1.0)  # stage denoiser: generator pairs' residual scale, log-uniform
                                            # (a generator given its noise, smnet-n, only when != 1)
    qat_ranges: str = "moving"    # stage denoiser with model.qat: activation ranges "moving" (the QAT default,
                                  # a moving average of each batch's min/max) | "global" (running min/max)


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    experimental: ExperimentalConfig = field(default_factory=ExperimentalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _closest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Convert ``value`` (TOML value or CLI string) to the type of the default ``current``."""
    if isinstance(value, str) and not isinstance(current, str):
        try:
            value = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"{where}: cannot parse {value!r}") from None
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    if current is not None and not isinstance(value, type(current)):
        raise ConfigError(f"{where}: expected {type(current).__name__}, got {value!r}")
    return value


# trial knobs that moved to [experimental]: their old names say where they went
MOVED = {("loss", "content_change"), ("loss", "sharp_content"), ("loss", "texture_on"), ("data", "camera_target"),
         ("data", "generator_strength")}


def _apply(cfg: TrainConfig, section: str, key: str, value: Any, where: str) -> None:
    sections = [f.name for f in dataclasses.fields(cfg)]
    if section not in sections:
        raise ConfigError(f"{where}: unknown section {section!r}{_closest(section, sections)}")
    sub = getattr(cfg, section)
    keys = [f.name for f in dataclasses.fields(sub)]
    if (section, key) in MOVED:
        raise ConfigError(f"{where}: {section}.{key} is now experimental.{key} (a trial knob no shipped recipe "
                          f"uses; docs/training.md#experimental-knobs)")
    if key not in keys:
        raise ConfigError(f"{where}: unknown key {section}.{key}{_closest(key, keys)}")
    setattr(sub, key, _coerce(value, getattr(sub, key), f"{where}: {section}.{key}"))


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Defaults, then the TOML file, then ``section.key=value`` overrides."""
    cfg = TrainConfig()
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file")
        try:
            data = tomllib.loads(p.read_text("utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: invalid TOML ({e})") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{p}: top-level key {section!r} must be a [section]")
            for key, value in table.items():
                _apply(cfg, section, key, value, str(p))
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        lhs, value = item.split("=", 1)
        section, key = lhs.strip().split(".", 1)
        _apply(cfg, section, key, value.strip(), "override")
    return cfg
