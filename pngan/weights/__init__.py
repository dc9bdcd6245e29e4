"""Shipped reference weights (safetensors with model name and config in the metadata), and their one table.

:data:`TABLE` says, for every file in this folder, which model it is, what it is for (its roles), what it was
trained on, the recipe that made it and the set it was selected on. ``pngan models``, loading by name
(:func:`resolve`, :func:`pngan.models.shipped.default_weights`), ``pngan demo``, the web app and the docs check
all read it; a test fails if a file here is missing from it or the reverse. This module imports nothing heavy,
so argument checks stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_DENOISER_ROLE = "default denoiser"    # what `pngan denoise` and `pngan demo` run without --model
DEFAULT_GENERATOR_ROLE = "default generator"  # what `pngan generate` and `pngan eval-noise` run without --weights
DEMO_GENERATOR_ROLE = "demo generator"        # the noise of `pngan demo`
MODEL_DEFAULT_ROLE = "model default"          # the file `--model NAME` loads without --weights
ALIGNMENT_ROLE = "alignment denoiser"         # the frozen denoiser of stage pngan's image-domain alignment
ROLES = (DEFAULT_DENOISER_ROLE, DEFAULT_GENERATOR_ROLE, DEMO_GENERATOR_ROLE, MODEL_DEFAULT_ROLE, ALIGNMENT_ROLE,
         "alternative")


@dataclass(frozen=True)
class ShippedWeights:
    """One shipped file, ``pngan/weights/<name>.safetensors`` (``--weights NAME``)."""

    name: str
    model: str                 # the registered architecture (``pngan models``)
    roles: tuple[str, ...]     # of ROLES
    data: str                  # what it was trained on
    recipe: str                # the config or command that made it
    selected_on: str           # the set its checkpoint was chosen on

    @property
    def file(self) -> str:
        return f"{self.name}.safetensors"


TABLE: tuple[ShippedWeights, ...] = (
    ShippedWeights("resunet-s_phone", "resunet-s", (DEFAULT_DENOISER_ROLE, MODEL_DEFAULT_ROLE),
                   "resunet-s_blind fine-tuned on polyu100/train + sidd12/train x5 real pairs + camera-pipeline pairs",
                   "scripts/configs/resunet-s_phone.toml",
                   "the recipe among six arms on sidd12/val and polyu100/val; no checkpoint selected (last step)"),
    ShippedWeights("resunet-s_blind", "resunet-s", ("alternative",),
                   "polyu100/train real pairs + camera-pipeline pairs (DSLR to phone levels) + smnet-s_polyu pairs",
                   "scripts/configs/resunet-s_blind.toml", "polyu100/val"),
    ShippedWeights("dncnn_polyu", "dncnn", (MODEL_DEFAULT_ROLE, ALIGNMENT_ROLE),
                   "polyu100/train real pairs, from dncnn_poisson-gaussian", "scripts/configs/dncnn_polyu100.toml",
                   "polyu100/val"),
    ShippedWeights("dncnn_poisson-gaussian", "dncnn", ("alternative",),
                   "seven scikit-image photos with synthetic Poisson-Gaussian noise",
                   "python scripts/train_reference.py --steps 2000 --seed 0", "none (last step)"),
    ShippedWeights("smnet-s_polyu", "smnet-s", (DEFAULT_GENERATOR_ROLE, MODEL_DEFAULT_ROLE), "polyu100/train",
                   "scripts/configs/smnet-s_polyu100.toml (ablation variant kl-adv0.1-lr1e-3, step 2,400)",
                   "polyu100/val"),
    ShippedWeights("smnet-s_polyu-texture", "smnet-s", ("alternative",), "polyu100/train, from smnet-s_polyu",
                   "scripts/configs/smnet-s_texture.toml", "polyu100/val"),
    ShippedWeights("smnet-n_polyu", "smnet-n", ("alternative",), "polyu100/train",
                   "scripts/configs/smnet-n_polyu100.toml, then scripts/configs/smnet-n_texture.toml", "polyu100/val"),
    ShippedWeights("smnet-n_polyu-chroma", "smnet-n", (DEMO_GENERATOR_ROLE,), "polyu100/train, from smnet-n_polyu",
                   "scripts/configs/smnet-n_chroma.toml", "polyu100/val"),
    ShippedWeights("smnet-c_camera", "smnet-c", ("alternative", MODEL_DEFAULT_ROLE),
                   "polyu100/train + sidd12/train x5 real pairs, each crop told its own photo's noise fingerprint",
                   "scripts/configs/smnet-c_camera.toml (step 1,000 of 3,000)",
                   "polyu100/val + sidd12/val centre crops, each told its own crop's fingerprint"),
)


def by_name(name: str) -> ShippedWeights | None:
    """The row of the shipped file called ``name`` (its stem), or ``None``."""
    return next((w for w in TABLE if w.name == name), None)


def with_role(role: str) -> list[ShippedWeights]:
    """Every row that has ``role``, in table order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return [w for w in TABLE if role in w.roles]


def model_defaults() -> dict[str, str]:
    """Model name -> the file ``--model NAME`` loads without ``--weights``."""
    return {w.model: w.file for w in with_role(MODEL_DEFAULT_ROLE)}


DEFAULT_DENOISER = with_role(DEFAULT_DENOISER_ROLE)[0].model    # a model name: "resunet-s"
DEFAULT_GENERATOR = with_role(DEFAULT_GENERATOR_ROLE)[0].model  # "smnet-s"
DEMO_GENERATOR = with_role(DEMO_GENERATOR_ROLE)[0].name         # a file's name: "smnet-n_polyu-chroma"


def folder() -> Path:
    """The folder holding the shipped ``.safetensors`` files."""
    return Path(str(resources.files(__name__)))


def resolve(weights: str | os.PathLike) -> Path:
    """``weights`` itself, or the shipped file it names: a bare name (no folder, no suffix) that is not a
    file here becomes ``pngan/weights/<name>.safetensors`` when that exists."""
    p = Path(weights)
    if p.exists() or p.suffix or p.parent != Path("."):
        return p
    shipped = folder() / f"{p.name}.safetensors"
    return shipped if shipped.is_file() else p


def names() -> list[str]:
    """Stems of every shipped weights file."""
    return sorted(f.stem for f in folder().glob("*.safetensors"))
