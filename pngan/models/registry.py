"""One registry for every architecture: ``build(name, **config)`` and ``names()``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from pngan.errors import ModelError, first_line

if TYPE_CHECKING:
    import torch.nn as nn


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


def _key(name: str) -> str:
    return name.replace("_", "-").lower()


def canonical_name(name: str) -> str:
    """The registered name ``name`` means, in any case (``_`` for ``-``); ``ModelError`` otherwise.

    The error suggests the closest name (as the config loader does) and lists the valid ones.
    """
    if name in _REGISTRY:
        return name
    key = _key(str(name))
    hits = [n for n in _REGISTRY if _key(n) == key]
    if len(hits) == 1:
        return hits[0]
    low = {n.lower(): n for n in names()}
    close = difflib.get_close_matches(key, list(low), n=1, cutoff=0.5)
    hint = f"; did you mean {low[close[0]]!r}?" if close else ""
    raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(names())}{hint}")


def spec(name: str) -> ModelSpec:
    """The spec for ``name`` (any case); ``ModelError`` with the closest and the valid names otherwise."""
    return _REGISTRY[canonical_name(name)]


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
    model.pngan_name = spec(name).name
    model.pngan_config = cfg
    return model
