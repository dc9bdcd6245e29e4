"""One artifact against its torch reference (the comparator; backends are only runners to it).

Output PSNR and max abs error vs torch on random and real inputs at each size, their margin
over the identity baseline, denoised PSNR/SSIM on noisy/clean pairs (denoisers; the paper
metric, as ``pngan denoise``), latency, and pass/fail by ``parity_rules``. The torch side is
computed once per (model, weights sha256, input, tiling) and shared by every artifact of a run.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pngan.errors import BackendMissingError, PnganError, PnganWarning
from pngan.runtimes.artifacts import artifact_name, artifact_size, model_file_size
from pngan.runtimes.base import BaseRunner, PlatformError
from pngan.runtimes.parity_data import PairSet, crop, generator_input, hw, label
from pngan.runtimes.parity_result import ArtifactResult, Denoised, Latency, OutputRow, Reference, TorchRow
from pngan.runtimes.parity_rules import Scores, Thresholds, judge, margin


def _digest(x: np.ndarray) -> tuple:
    return x.shape, hashlib.blake2b(np.ascontiguousarray(x).data, digest_size=16).hexdigest()


def score_pair(y: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    """``(PSNR, SSIM)`` of a 1 x 3 x H x W output against its clean (H, W, 3) target: the paper metric."""
    from pngan.io.images import from_tensor_batch
    from pngan.metrics import psnr_paper, ssim_paper

    img = from_tensor_batch(y)
    return psnr_paper(img, clean), ssim_paper(img, clean)


def _mean(values: list[float]) -> float:
    ok = [v for v in values if v == v]  # an image below the SSIM window has none (nan), as in pngan denoise
    return float(np.mean(ok)) if ok else math.nan


class References:
    """Torch references of one run: a runner per (model, weights), its outputs per (input, tiling) and its
    latency per size, each computed once however many artifacts share them."""

    MAX_CACHE_BYTES = 1 << 30  # torch outputs kept for the next artifact

    def __init__(self, threads: int | None = None, repeats: int = 5) -> None:
        self.threads, self.repeats = threads, repeats
        self.runners: dict[tuple[str, str], Any] = {}
        self.info: dict[tuple[str, str], tuple[str, str]] = {}  # key -> (model, weights path)
        self._sha: dict[str, str] = {}
        self._out: dict[tuple, np.ndarray] = {}
        self._out_bytes = 0
        self._lat: dict[tuple, Latency] = {}
        self._den: dict[tuple, tuple[float, float]] = {}

    def sha(self, path: Path) -> str:
        from pngan.models import sha256

        if str(path) not in self._sha:
            self._sha[str(path)] = sha256(path)
        return self._sha[str(path)]

    def get(self, manifest: dict[str, Any]) -> tuple[tuple[str, str], Reference]:
        """``(key, Reference)`` of the torch model an artifact's manifest names (its weights, else shipped)."""
        from pngan.models import shipped_weights
        from pngan.runtimes.opening import torch_runner

        name, w = manifest["model"], manifest.get("weights")
        notes: list[str] = []
        if w and Path(w).is_file():
            path = Path(w)
        else:
            path = shipped_weights(name)
            if path is None:
                raise PnganError(f"cannot build the torch reference: weights {w!r} not found and no shipped "
                                 f"weights for {name!r}")
            if w:
                notes.append(f"weights {w} not found; torch reference uses the shipped weights {path.name}")
        got, want = self.sha(path), manifest.get("weights_sha256")
        if want and got != want:
            notes.append(f"torch reference weights {path.name} (sha256 {got[:12]}) differ from the "
                         f"exported weights (sha256 {want[:12]}); expect a parity failure")
        elif not want and not w:
            notes.append("manifest records no weights; torch reference uses the shipped weights")
        key = (name, got)
        if key not in self.runners:
            self.runners[key] = torch_runner(name, path, threads=self.threads)
            self.info[key] = (name, str(path))
        return key, Reference(str(path), notes)

    def output(self, key: tuple[str, str], runner: BaseRunner | None, x: np.ndarray) -> np.ndarray:
        """Torch's output on ``x`` fed the way ``runner`` feeds its engine (``None``: whole)."""
        plan = runner.feed_plan(x.shape) if runner is not None else None
        k = (key, _digest(x), plan)
        if k in self._out:
            return self._out[k]
        ref = self.runners[key]
        y = runner.feed(ref)(x) if runner is not None else ref(x)
        if self._out_bytes + y.nbytes <= self.MAX_CACHE_BYTES:  # past it, recomputed per artifact
            self._out[k], self._out_bytes = y, self._out_bytes + y.nbytes
        return y

    def latency(self, key: tuple[str, str], x: np.ndarray) -> Latency:
        from pngan.timing import measure_latency

        k = (key, x.shape)
        if k not in self._lat:
            ref = self.runners[key]
            self._lat[k] = Latency(**measure_latency(lambda: ref(x), repeats=self.repeats, warmup=1))
        return self._lat[k]

    def denoised(self, key: tuple[str, str], pairs: PairSet) -> tuple[float, float]:
        """Torch's mean (PSNR, SSIM) over the whole pairs: what ``pngan denoise`` reports for the model."""
        from pngan.io.images import to_tensor_batch

        if key not in self._den:
            scores = [score_pair(self.output(key, None, to_tensor_batch(n)), c) for _, n, c in pairs.items]
            self._den[key] = (_mean([p for p, _ in scores]), _mean([s for _, s in scores]))
        return self._den[key]

    def rows(self, pairs: PairSet, denoisers: set[tuple[str, str]]) -> list[TorchRow]:
        """One row per reference timed in this run (with its denoised scores when it is a denoiser)."""
        rows = []
        for key, (model, weights) in self.info.items():
            lat = {str(shape[2]): v for (k, shape), v in self._lat.items() if k == key}
            if not lat and key not in denoisers:  # its artifacts broke before they were timed
                continue
            row = TorchRow(model, weights, lat)
            if key in denoisers:
                row.denoised_psnr, row.denoised_ssim = self.denoised(key, pairs)
            rows.append(row)
        return rows

    def close(self) -> None:
        for r in self.runners.values():
            r.close()


def check_artifact(folder: Path, pairs: PairSet, refs: References, th: Thresholds, *,
                   sizes: tuple[int | tuple[int, int], ...] = (128, 256), latency_sizes: tuple[int, ...] = (256, 512),
                   seed: int = 0, options: dict[str, Any] | None = None,
                   progress: Callable[[str], None] | None = None) -> ArtifactResult:
    """One artifact's result (never raises ``PnganError``: it becomes ``status="error"``)."""
    from pngan.models import spec
    from pngan.runtimes.opening import artifact_manifest, open_artifact

    say = progress or (lambda _m: None)
    res = ArtifactResult(artifact=str(folder), name=artifact_name(folder))
    runner = None
    try:
        base, manifest = artifact_manifest(folder, verify=False)  # open_artifact below checks the model file
        res.model, res.target, res.precision = manifest["model"], manifest["target"], manifest["precision"]
        res.bare_model_file = bool(manifest.get("bare"))
        res.size_bytes = (model_file_size(base / manifest["artifact"], res.target) if folder.is_file()
                          else artifact_size(base))
        runner = open_artifact(folder, ignore_unknown=True, **(options or {}))
        res.backend, res.device = runner.backend, runner.device
        res.static_shape = list(runner.static_shape) if runner.static_shape else None
        key, res.reference = refs.get(manifest)
        for note in res.reference.notes:
            warnings.warn(f"{folder.name}: {note}", PnganWarning, stacklevel=2)
        generator = spec(res.model).kind == "generator"
        res.kind = "generator" if generator else "denoiser"
        rng = np.random.default_rng(seed)
        say(f"  {res.name}: output parity at {', '.join(label(v) for v in sizes)}")
        margins, real_margins = _outputs(res, runner, refs, key, pairs, sizes, rng, generator, seed)
        if not generator:
            say(f"  {res.name}: denoising {len(pairs.items)} pairs")
            res.denoised = _denoise(res.name, runner, refs, key, pairs, real_margins)
        say(f"  {res.name}: latency at {', '.join(f'{v}x{v}' for v in latency_sizes)} ({refs.repeats} runs)")
        res.latency = _latency(runner, refs, key, latency_sizes, rng)
        den = res.denoised
        scores = Scores(res.output_psnr_min_db, min(margins), float(np.mean(real_margins)))
        if den is not None:
            scores.delta_db, scores.torch_gain_db, scores.gain_db = den.delta_psnr, den.gain_torch, den.gain
        res.identity_margin_min_db, res.identity_margin_mean_db = scores.margin_min_db, scores.margin_mean_db
        ok, res.rule = judge(res.precision, generator, scores, th)
        ok = _recorded_budget(res, manifest, ok)
        res.status = "pass" if ok else "fail"
    except (BackendMissingError, PlatformError) as e:
        res.status, res.message = "skipped", str(e)
    except PnganError as e:
        res.status, res.message = "error", str(e)
    finally:
        if runner is not None:
            runner.close()
    return res


def _recorded_budget(res: ArtifactResult, manifest: dict[str, Any], ok: bool) -> bool:
    """Read the export's budget and per-folder drops into ``res``; a denoised drop over that budget fails."""
    rec = manifest.get("validation") or {}
    res.budget_db, res.export_drops = rec.get("max_drop_db"), list(rec.get("folders") or [])
    res.float_layers = ((manifest.get("quantization") or {}).get("mixed") or {}).get("float_layers")
    d = res.denoised
    if d is None or res.budget_db is None or -d.delta_psnr <= res.budget_db:
        return ok
    res.rule = f"denoised {d.delta_psnr:+.3f} dB here, over the {res.budget_db:g} dB budget its export recorded"
    return False


def _outputs(res: ArtifactResult, runner: BaseRunner, refs: References, key: tuple[str, str], pairs: PairSet,
             sizes: tuple, rng: np.random.Generator, generator: bool, seed: int) -> tuple[list[float], list[float]]:
    """Output parity rows into ``res``; returns the margins over the identity baseline (all, real inputs)."""
    from pngan.io.images import to_tensor_batch

    worst, worst_abs = math.inf, 0.0
    margins: list[float] = []
    real_margins: list[float] = []
    real_src = generator_input(pairs.items[0][2], refs.runners[key], seed) if generator else pairs.items[0][1]
    for size in sizes:
        for kind, x in (("random", rng.random((1, 3, *hw(size)), dtype=np.float32)),
                        ("real", to_tensor_batch(crop(real_src, size)))):
            y_ref, y = refs.output(key, runner, x), runner(x)
            db, mx, base = _psnr(y_ref, y), float(np.abs(y_ref - y).max()), _psnr(y_ref, x)
            res.outputs.append(OutputRow(kind, size if isinstance(size, int) else list(size), db, mx, base))
            if kind == "real" or res.precision != "int8":  # INT8 ranges are calibrated on real data
                worst = min(worst, db)
            worst_abs = max(worst_abs, mx)
            margins.append(margin(db, base))
            if kind == "real":
                real_margins.append(margin(db, base))
    res.output_psnr_min_db, res.max_abs = worst, worst_abs
    return margins, real_margins


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from pngan.metrics import psnr_float

    return psnr_float(a, b)


def _denoise(name: str, runner: BaseRunner, refs: References, key: tuple[str, str], pairs: PairSet,
             real_margins: list[float]) -> Denoised:
    """Denoised scores over the pairs the artifact can take (torch on the same tiles); adds their margins."""
    from pngan.io.images import to_tensor_batch

    mh, mw = hw(runner.min_side)
    too_small = [(i, n.shape) for i, n, _ in pairs.items if n.shape[0] < mh or n.shape[1] < mw]
    for ident, (h, w, _) in too_small:
        warnings.warn(f"{name}: pair {ident} ({w}x{h}) is smaller than the artifact's minimum input "
                      f"{mw}x{mh}; not scored", PnganWarning, stacklevel=3)
    if len(too_small) == len(pairs.items):
        raise PnganError(f"every pair is smaller than the artifact's minimum input {mw}x{mh} "
                         f"(first: {too_small[0][0]})")
    skipped = {i for i, _ in too_small}
    rows = []
    for ident, noisy, clean in pairs.items:
        if ident in skipped:
            continue
        x = to_tensor_batch(noisy)
        y_ref, y = refs.output(key, runner, x), runner(x)
        real_margins.append(margin(_psnr(y_ref, y), _psnr(y_ref, x)))
        rows.append((*score_pair(y_ref, clean), *score_pair(y, clean), score_pair(x, clean)[0]))
    m = [_mean([r[i] for r in rows]) for i in range(5)]
    return Denoised(len(rows), m[0], m[1], m[2], m[3], m[4], sorted(skipped))


def _latency(runner: BaseRunner, refs: References, key: tuple[str, str], latency_sizes: tuple[int, ...],
             rng: np.random.Generator) -> dict[str, Latency]:
    from pngan.timing import measure_latency

    out = {}
    for size in dict.fromkeys(latency_sizes):  # a size given twice is timed once
        x = rng.random((1, 3, size, size), dtype=np.float32)
        r = measure_latency(lambda: runner(x), repeats=refs.repeats, warmup=1)
        out[str(size)] = Latency(**r, torch_p50_ms=refs.latency(key, x).p50_ms)
    return out
