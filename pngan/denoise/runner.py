"""The model behind a folder denoise: a torch model or an exported artifact, tiled when memory asks for it.

An image is tiled when ``tile`` asks for it, when the estimated memory of a whole-image run
exceeds half the free memory (``pngan.runtimes.autotile.plan_tile``), or when a whole-image
run fails for lack of memory; each automatic case says so in a ``PnganWarning``. The tile
overlap and margin come from the runner's measured receptive radius
(``BaseRunner.tile_geometry``). Heavy modules are imported when a runner is built.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

from pngan.errors import PnganError, PnganWarning, first_line

KINDS = {"generator": "a noise generator", "discriminator": "a discriminator (it scores noise; it does not denoise)"}


def not_a_denoiser(kind: str, artifact: bool = False) -> str:
    """What to say of a model of ``kind`` (generator, discriminator) given to a denoise: ``"<kind>, not a
    denoiser; <what to run instead>"``."""
    if kind == "generator":
        hint = "use `pngan generate --artifact`" if artifact else "use `pngan generate`"
    else:
        hint = "choose a denoiser (see `pngan models`)"
    return f"{KINDS.get(kind, 'a ' + kind)}, not a denoiser; {hint}"


class DenoiseRunner:
    """``runner(x, label)`` denoises ``x`` (1 x 3 x H x W float32): tiling, edge padding and OOM retry included.

    ``model`` names a registered denoiser run in PyTorch with ``weights`` (its shipped weights by
    default); ``artifact`` an export folder run through its backend. ``name`` says which, for reports.
    """

    def __init__(self, model: str | None = None, artifact: str | os.PathLike | None = None,
                 weights: str | os.PathLike | None = None, device: str = "cpu", tile: int = 0,
                 overlap: int | None = None) -> None:
        from pngan.runtimes.formats import FORMATS
        from pngan.models import build, load_model, spec
        from pngan.runtimes.autotile import bytes_per_pixel

        self.tile, self.overlap = tile, overlap
        if artifact is not None:
            from pngan.runtimes.opening import open_artifact

            self.runner = open_artifact(artifact)
            m = self.runner.manifest
            if spec(m["model"]).kind != "denoiser":
                self.runner.close()
                raise PnganError(f"{artifact}: the artifact holds {m['model']!r}, "
                                 f"{not_a_denoiser(spec(m['model']).kind, artifact=True)}")
            self.name = f"{m['model']} ({self.runner.backend} {m['precision']})"
            try:
                net = build(m["model"], **(m.get("config") or {}))
            except PnganError:
                net = None
            fmt = FORMATS.get(m["target"])
            self.device = "cuda" if (fmt and fmt.device == "gpu") or _on_gpu(self.runner.device) else "cpu"
            self.self_tiling = self.runner.tiles_itself
        else:
            if model is None:
                raise PnganError("give a model name or an artifact folder")
            if device == "cuda":
                import torch

                if not torch.cuda.is_available():
                    raise PnganError("--device cuda: no CUDA device is available to this torch build")
            if spec(model).kind != "denoiser":
                raise PnganError(f"{model!r} is {not_a_denoiser(spec(model).kind)}")
            from pngan.runtimes.torch_runner import TorchRunner

            net = load_model(model, weights, name_option="--model")
            self.runner = TorchRunner(net, device=device)
            self.name, self.device, self.self_tiling = model, device, False
        self.align = int(getattr(net, "pad_multiple", 1)) if net is not None else 1
        self.per_pixel = bytes_per_pixel(net) if net is not None else None

    def close(self) -> None:
        self.runner.close()

    def geometry(self, side: int) -> dict[str, int]:
        """``tiled``'s overlap, margin and align for ``side`` x ``side`` tiles (the runner's tile geometry;
        a given ``overlap`` replaces the measured one, capped below half the tile)."""
        if self.overlap is None:
            geo = self.runner.tile_geometry((side, side))  # warns itself when the tile is too small
        else:
            full = self.runner.tile_geometry((1 << 20, 1 << 20))["margin"]  # uncapped: receptive radius + 2
            ov = min(self.overlap, (side - 1) // 2)
            geo = {"overlap": ov, "margin": min(full, ov // 2)}
            if full > ov // 2:
                warnings.warn(f"{side}x{side} tiles with overlap {ov} do not cover {self.name}'s receptive radius "
                              f"({full - 2} px): tiles may show seams; use a larger --tile/--overlap", PnganWarning,
                              stacklevel=2)
        return {**geo, "align": self.align}

    def _tiled(self, x: Any, side: int) -> Any:
        from pngan.runtimes.tiling import tiled

        return tiled(self.runner, x, side, batch=1, **self.geometry(side))

    def __call__(self, x: Any, label: str) -> Any:
        """Denoise ``x``; ``PnganError`` naming ``label`` when memory runs out even tiled."""
        from pngan.runtimes.autotile import available_memory, plan_tile

        h, w = x.shape[2:]
        mh, mw = _pair(getattr(self.runner, "min_side", 1))
        if h < mh or w < mw:  # an artifact's shape range starts above this image: edge-pad, run, crop
            import numpy as np

            warnings.warn(f"{label}: {w}x{h} is below the artifact's minimum input {mw}x{mh}: edge-padded to run",
                          PnganWarning, stacklevel=2)
            padded = np.pad(x, ((0, 0), (0, 0), (0, max(0, mh - h)), (0, max(0, mw - w))), mode="edge")
            return self(padded, label)[:, :, :h, :w]
        side = self.tile or None
        if side is None and not self.self_tiling:
            free = available_memory(self.device)
            side = plan_tile(h, w, self.per_pixel, free, align=self.align)
            if side is not None:
                need = f"about {self.per_pixel * h * w / 2**30:.1f} GiB" if self.per_pixel else "a lot of memory"
                have = f"{free / 2**30:.1f} GiB free" if free else "the free memory is unknown"
                warnings.warn(f"{label}: {w}x{h} needs {need} as a whole image ({have}): denoising it in "
                              f"{side}x{side} tiles", PnganWarning, stacklevel=2)
        try:
            return self._tiled(x, side) if side else self.runner(x)
        except Exception as e:  # noqa: BLE001 - only running out of memory is handled here
            if not is_oom(e):
                raise
            error = first_line(e, 120)
        smaller = min(512, max(64, (side or max(h, w)) // 2))
        if side is not None and side <= 64 or min(h, w) <= 64:
            raise PnganError(f"{label}: out of memory even in small tiles ({error})")
        warnings.warn(f"{label}: out of memory as a whole image ({error}); retrying in {smaller}x{smaller} tiles",
                      PnganWarning, stacklevel=2)
        try:
            return self._tiled(x, smaller)
        except Exception as e:  # noqa: BLE001
            if not is_oom(e):
                raise
            raise PnganError(f"{label}: out of memory even in {smaller}x{smaller} tiles ({first_line(e, 120)})"
                             ) from None


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _on_gpu(device: str) -> bool:
    """Whether a runner's device string names a GPU (ONNX Runtime's CUDA provider); formats say it otherwise."""
    d = str(device).lower()
    return "cuda" in d or d.startswith("gpu")


def is_oom(error: BaseException) -> bool:
    """Whether ``error`` says memory ran out (torch, ONNX Runtime and OpenVINO each say it their way)."""
    if isinstance(error, MemoryError):
        return True
    return bool(re.search(r"out of memory|can't allocate|cannot allocate|bad_alloc|failed to allocate|"
                          r"allocate memory|memory allocation", str(error), re.IGNORECASE))

