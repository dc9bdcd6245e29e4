"""Accuracy-aware mixed precision: the fewest layers kept in float so that INT8 meets a denoised-PSNR budget.

A per-layer sensitivity pass, as Polygraphy's and ModelOpt's layerwise debugging do: the model is quantized
once with every layer in INT8, then once per layer with only that layer in float, each candidate scored on the
validation pairs (never the calibration crops) by its worst folder's denoised-PSNR drop vs torch. A layer is
an op whose inputs the quantizer rounds (convolutions, but also the residual adds and the pixel shuffles). The
ranking probes each layer cheaply, alone: the all-INT8 model with every *other* layer's activation quantizers
bypassed (same ranges, no recalibration), scored on a few centre crops per folder, so a layer whose rounding
costs much on its own ranks first. The search then keeps the first ``k`` ranked layers in float for real
(requantized with them excluded), doubling ``k`` until the budget is met and bisecting to the smallest ``k``
that meets it. The backend supplies ``build(float_layers) -> (model, run)`` (OpenVINO: NNCF's ignored scope; ONNX Runtime:
``nodes_to_exclude``) and ``probe(model, bypassed_layers) -> run``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from pngan.errors import PnganError
from pngan.runtimes.val_sets import FolderDrop, ValSet, centre_crop, score_sets, worst

SHAPE_OPS = ("ShapeOf", "Shape", "Slice")  # read shapes, not values: never worth keeping in float
Run = Callable[[np.ndarray], np.ndarray]
Build = Callable[[list[str]], tuple[Any, Run]]
Probe = Callable[[Any, list[str]], Run]


@dataclass
class MixedResult:
    """What the search found: the float layers, the drops per folder, and what it tried."""

    float_layers: list[str]
    drops: list[FolderDrop]
    layers: int  # quantizable layers of the model
    all_int8_drop: float  # worst-folder drop with every layer in INT8 (dB, >= 0 is a loss)
    sensitivity: dict[str, float] = field(default_factory=dict)  # layer -> worst drop with it alone quantized
    candidates: int = 0
    seconds: float = 0.0
    best_drop: float = float("inf")  # the lowest worst-folder drop of the greedy candidates
    best_k: int = 0

    def to_json(self, max_drop: float) -> dict[str, Any]:
        w = worst(self.drops)
        return {"method": "per-layer sensitivity on the validation pairs (each layer's activations alone "
                          "quantized), then the fewest top-ranked layers requantized in float", "max_drop_db": max_drop,
                "float_layers": self.float_layers, "quantizable_layers": self.layers,
                "all_int8_worst_drop_db": round(self.all_int8_drop, 3), "worst_drop_db": round(-w.delta_db, 3),
                "worst_folder": w.name, "folders": [d.to_json() for d in self.drops],
                "sensitivity_db": {k: round(v, 3) for k, v in self.sensitivity.items()},
                "candidates_built": self.candidates, "search_seconds": round(self.seconds, 1)}


PROBE_IMAGES, PROBE_SIDE = 4, 256  # the ranking probes score this many centre crops per folder


class DropMeter:
    """Scores a candidate on the validation sets against torch outputs computed once."""

    def __init__(self, sets: Sequence[ValSet], torch_run: Run) -> None:
        self.sets, self.torch_run = list(sets), torch_run
        xs = [np.ascontiguousarray(n.transpose(2, 0, 1)[None], dtype=np.float32) for s in sets for _, n, _ in s.items]
        self.refs = [torch_run(x) for x in xs]

    def __call__(self, run: Run) -> list[FolderDrop]:
        it = iter(self.refs)
        return score_sets(self.sets, lambda x: (next(it), run(x)))

    def subset(self, images: int = PROBE_IMAGES, side: int = PROBE_SIDE) -> DropMeter:
        """A cheaper meter for ranking: the first ``images`` pairs of each set, centre ``side`` crops."""
        small = [ValSet(s.name, tuple((i, centre_crop(n, side), centre_crop(c, side)) for i, n, c in s.items[:images]),
                        s.source) for s in self.sets]
        return DropMeter(small, self.torch_run)


def _loss(drops: Sequence[FolderDrop]) -> float:
    return -worst(drops).delta_db


def search_mixed(layers_of: Callable[[Any], list[str]], build: Build, probe: Probe, meter: DropMeter,
                 max_drop: float, log: Callable[[str], None] | None = None) -> tuple[Any, MixedResult]:
    """The model with the fewest float layers whose worst folder loses <= ``max_drop`` dB (see the module doc).

    ``layers_of(all_int8_model)`` lists the layers the search may keep in float.
    ``PnganError`` naming the layers tried and the best drop when even every layer in float misses the budget.
    """
    say = log or (lambda _m: None)
    t0 = time.perf_counter()
    model, run = build([])
    layers = layers_of(model)
    drops = meter(run)
    res = MixedResult([], drops, len(layers), _loss(drops), candidates=1)
    say(f"  mixed precision: all {len(layers)} layers INT8: worst drop {res.all_int8_drop:.3f} dB "
        f"({worst(drops).name}); budget {max_drop:g} dB")
    if res.all_int8_drop <= max_drop:
        res.seconds = time.perf_counter() - t0
        return model, res
    quick = meter.subset()
    for i, layer in enumerate(layers, 1):
        res.sensitivity[layer] = _loss(quick(probe(model, [k for k in layers if k != layer])))
        if i % 10 == 0 or i == len(layers):
            say(f"  mixed precision: sensitivity {i}/{len(layers)} layers probed")
    ranked = sorted(layers, key=lambda name: -res.sensitivity[name])
    say("  mixed precision: most sensitive: " + ", ".join(f"{k} {res.sensitivity[k]:.3f} dB" for k in ranked[:3]))
    found = _smallest_k(ranked, build, meter, max_drop, res, say)
    res.seconds = time.perf_counter() - t0
    if found is None:
        raise PnganError(f"no mix meets --max-drop {max_drop:g} dB: tried the {len(layers)} layers ranked by "
                         f"sensitivity ({', '.join(ranked[:3])}, ...); the best worst-folder drop was "
                         f"{res.best_drop:.3f} dB with {res.best_k} in float")
    model, res.float_layers, res.drops = found
    return model, res


def _smallest_k(ranked: list[str], build: Build, meter: DropMeter, max_drop: float, res: MixedResult,
                say: Callable[[str], None]) -> tuple[Any, list[str], list[FolderDrop]] | None:
    """Doubling then bisection over ``k`` (the first ``k`` ranked layers in float); ``None`` if no ``k`` meets it."""
    res.best_drop, res.best_k = res.all_int8_drop, 0
    tried: dict[int, tuple[Any, list[FolderDrop]]] = {}

    def meets(k: int) -> bool:
        if k not in tried:
            model, run = build(ranked[:k])
            tried[k] = (model, meter(run))
            res.candidates += 1
            loss = _loss(tried[k][1])
            if loss < res.best_drop:
                res.best_drop, res.best_k = loss, k
            say(f"  mixed precision: {k} layer(s) in float: worst drop {loss:.3f} dB")
        return _loss(tried[k][1]) <= max_drop

    lo, k = 0, 1
    while not meets(k):
        if k == len(ranked):
            return None
        lo, k = k, min(2 * k, len(ranked))
    hi = k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if meets(mid) else (mid, hi)
    model, drops = tried[hi]
    return model, ranked[:hi], drops


def search_for_job(net: Any, job: Any, layers_of: Callable[[Any], list[str]], build: Build,
                   probe: Probe) -> tuple[Any, dict[str, Any]]:
    """``search_mixed`` on an export job's validation pairs against ``net`` in torch: ``(model, manifest record)``."""
    from pngan.runtimes.torch_runner import TorchRunner

    if net is None or not job.val_sets:
        raise PnganError("--mixed needs the torch model and validation pairs")
    ref = TorchRunner(net)
    try:
        model, res = search_mixed(layers_of, build, probe, DropMeter(job.val_sets, ref), job.max_drop, job.log)
    finally:
        ref.close()
    return model, res.to_json(job.max_drop)
