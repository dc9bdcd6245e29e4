"""One registry for every architecture: ``build(name, **config)`` and ``names()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch.nn as nn

from pngan.errors import ModelError, first_line


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered architecture."""

    name: str
    factory: Callable[..., nn.Module]
    defaults: dict[str, Any] = field(default_factory=dict)
    kind: str = "denoiser"  # "denoiser" | "generator" | "discriminator"
    description: str = ""


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, *, kind: str = "denoiser", description: str = "", **defaults: Any):
    """Decorator registering ``factory(**config) -> nn.Module`` under ``name``."""

    def deco(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, factory, dict(defaults), kind, description)
        return factory

    return deco


def names() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_REGISTRY)


def spec(name: str) -> ModelSpec:
    """The spec for ``name``; ``ModelError`` naming the valid choices otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(names())}") from None


def resolve_config(name: str, **config: Any) -> dict[str, Any]:
    """Defaults of ``name`` updated with ``config``; unknown keys are an error."""
    s = spec(name)
    unknown = sorted(set(config) - set(s.defaults))
    if unknown:
        raise ModelError(
            f"unknown config key(s) for {name!r}: {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(s.defaults)) or '(none)'}"
        )
    return {**s.defaults, **config}


def build(name: str, **config: Any) -> nn.Module:
    """Build model ``name`` with ``config`` over its defaults.

    The returned module carries ``pngan_name`` and ``pngan_config`` so that
    weights can be saved with enough metadata to rebuild it.
    """
    cfg = resolve_config(name, **config)
    try:
        model = spec(name).factory(**cfg)
    except (TypeError, ValueError) as e:  # a value of the wrong type or range in the config
        raise ModelError(f"invalid config for {name!r} ({cfg}): {first_line(e)}") from None
    model.pngan_name = name
    model.pngan_config = cfg
    return model
