"""LiteRT runner: a ``.tflite`` file with fixed-size signatures through ``ai_edge_litert`` (XNNPACK).

The interpreter and XNNPACK delegate an Android app gets from LiteRT. Each signature takes
one ``1 x 3 x H x W`` size; ``fit`` chooses how other sizes run:

- ``"tile"`` (default): a signature's size runs as it is; a smaller image is edge-padded
  to the smallest signature holding it (output cropped); a larger one is tiled with the
  largest signature (``tiled(exact=True)``, overlap from the receptive radius);
- ``"exact"``: only the signatures' sizes; any other is one ``InputError`` line.

INT8 files may take and give int8 tensors (when every consumer of the input is quantized, as in
SMNet-s); the runner quantizes and dequantizes with their scale and zero point, so callers always
pass and get float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError, PnganError
from pngan.runtimes.base import BaseRunner, InputError
from pngan.runtimes.quiet import quiet

FITS = ("tile", "exact")


def interpreter(path: str | Path, threads: int | None = None) -> Any:
    """``ai_edge_litert.interpreter.Interpreter`` for ``path``, with one-line ``ArtifactError``s."""
    try:
        with quiet():
            import ai_edge_litert  # noqa: F401 - fails first when the extra is missing
            from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise BackendMissingError("ai-edge-litert", "litert") from None
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such LiteRT model")
    with quiet():
        try:
            return Interpreter(model_path=str(path), num_threads=threads or None)
        except Exception as e:  # noqa: BLE001 - ValueError for a wrong identifier, RuntimeError otherwise
            reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    raise ArtifactError(f"{path}: LiteRT cannot load the model ({reason}); re-export it with pngan-export")


def tflite_precision(path: Path) -> str | None:
    """``int8`` when the file holds int8 tensors, ``fp16`` for float16 weights, else ``fp32``."""
    try:
        it = interpreter(path)
    except BackendMissingError:
        return None
    kinds = {np.dtype(d["dtype"]).name for d in it.get_tensor_details()}
    return "int8" if "int8" in kinds else "fp16" if "float16" in kinds else "fp32"


def quantize_io(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """``x`` as the signature's input tensor wants it: float32 as it is, int8/uint8 with its scale and zero point."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)


def dequantize_io(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """A signature's output as float32 (int8/uint8 outputs dequantized with their scale and zero point)."""
    if np.dtype(detail["dtype"]) == np.float32:
        return y
    scale, zero = detail["quantization"]
    return ((y.astype(np.float32) - zero) * scale).astype(np.float32)


class LiteRtRunner(BaseRunner):
    """Runs ``model.tflite``; options ``threads`` (interpreter threads) and ``fit`` (``tile``/``exact``)."""

    backend = "litert"

    def __init__(self, path: str | Path, *, threads: int | None = None, fit: str = "tile",
                 precision: str = "fp32") -> None:
        if fit not in FITS:
            raise PnganError(f"unknown LiteRT fit {fit!r}; choose one of: {', '.join(FITS)}")
        self.path = Path(path)
        self.interp = interpreter(self.path, threads)
        self.runners: dict[tuple[int, int], tuple[Any, str, str]] = {}
        self.io: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any]]] = {}
        self._warm: set[tuple[int, int]] = set()
        for name in self.interp.get_signature_list():
            with quiet():  # 'INFO: Created TensorFlow Lite XNNPACK delegate' on stderr
                r = self.interp.get_signature_runner(name)
            (iname, idet), = r.get_input_details().items()
            (oname, odet), = r.get_output_details().items()
            shape = tuple(int(v) for v in idet["shape"])
            if len(shape) != 4 or shape[:2] != (1, 3):
                raise ArtifactError(f"{self.path}: signature {name!r} takes {list(shape)}, not 1 x 3 x H x W")
            self.runners[shape[2:]] = (r, iname, oname)
            self.io[shape[2:]] = (idet, odet)
        if not self.runners:
            raise ArtifactError(f"{self.path}: LiteRT model has no signatures")
        self.sizes = sorted(self.runners, key=lambda s: (s[0] * s[1], s))
        self.fit = fit
        self.precision = precision
        self.device = "cpu (XNNPACK)"
        self.min_side = (min(h for h, _ in self.sizes), min(w for _, w in self.sizes)) if fit == "exact" else 1
        self.options = {"threads": threads, "fit": fit}

    tiles_itself = True  # every input goes to a fixed-size signature, padded or tiled

    def _sizes_text(self) -> str:
        return ", ".join(f"{w}x{h}" for h, w in self.sizes)

    def tile_for(self, h: int, w: int) -> tuple[int, int] | None:
        """The signature an ``h x w`` image runs through (padded or tiled), ``None`` when it matches one."""
        if (h, w) in self.runners:
            return None
        if self.fit == "exact":
            raise InputError(f"{w}x{h} (WxH) matches none of {self.path.name}'s signatures ({self._sizes_text()}); "
                             f"re-export with --litert-sizes {h}x{w} or run with fit='tile'")
        holding = [s for s in self.sizes if s[0] >= h and s[1] >= w]
        return holding[0] if holding else self.sizes[-1]

    def _signature(self, x: np.ndarray) -> np.ndarray:
        """Run images of exactly one signature's size, one at a time."""
        r, iname, oname = self.runners[x.shape[2:]]
        idet, odet = self.io[x.shape[2:]]
        outs = []
        for i in range(x.shape[0]):
            xi = {iname: quantize_io(np.ascontiguousarray(x[i:i + 1]), idet)}
            if x.shape[2:] not in self._warm:  # the first call creates the XNNPACK delegate and says so on stderr
                with quiet():
                    y = r(**xi)[oname]
                self._warm.add(x.shape[2:])
            else:
                y = r(**xi)[oname]
            outs.append(dequantize_io(np.asarray(y), odet))
        return np.concatenate(outs)

    def feed_plan(self, shape: tuple[int, ...]) -> tuple | None:
        """How ``feed`` hands an input of ``shape`` to the signatures: ``None`` when one fits exactly, else
        ``("pad", tile)`` or ``("tile", tile, geometry items)`` (parity caches torch's output per plan)."""
        h, w = shape[2:]
        tile = self.tile_for(h, w)
        if tile is None:
            return None
        if h <= tile[0] and w <= tile[1]:
            return ("pad", tile)
        return ("tile", tile, tuple(sorted(self.tile_geometry(tile).items())))

    def feed(self, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """``fn`` applied as this runner feeds the signatures (see the module docstring)."""

        def fed(x: np.ndarray) -> np.ndarray:
            plan = self.feed_plan(x.shape)
            if plan is None:
                return fn(x)
            (h, w), tile = x.shape[2:], plan[1]
            if plan[0] == "pad":  # edge-pad up to the signature, crop back
                pad = ((0, 0), (0, 0), (0, tile[0] - h), (0, tile[1] - w))
                return fn(np.pad(x, pad, mode="edge"))[:, :, :h, :w]
            from pngan.runtimes.tiling import tiled

            return tiled(fn, x, tile, batch=1, exact=True, **self.tile_geometry(tile))  # seams: a warning says so

        return fed

    def tile_geometry(self, tile: tuple[int, int] | None = None) -> dict[str, int]:
        """As ``BaseRunner.tile_geometry``, probing the receptive radius on the smallest signature."""
        if self._geometry is None:
            self.static_shape = (1, *self.sizes[0])
            try:
                super().tile_geometry()
            finally:
                self.static_shape = None
        return super().tile_geometry(tile or self.sizes[-1])

    _run = _signature

    def info(self) -> dict[str, Any]:
        return {**super().info(), "signatures": [list(s) for s in self.sizes], "fit": self.fit}

    def close(self) -> None:
        self.interp = None
        self.runners = {}
        super().close()
