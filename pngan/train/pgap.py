"""PGap (DANet): train the same denoiser on real pairs and on generated pairs, compare PSNR on real test pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from pngan.data.pairs import Pair, find_pairs
from pngan.errors import PnganError
from pngan.models.inputs import sample_seed
from pngan.io.images import from_tensor_batch, read_image, to_tensor_batch, write_image
from pngan.metrics import psnr
from pngan.models import load
from pngan.runtimes.torch_runner import TorchRunner
from pngan.train.config import TrainConfig
from pngan.train.loop import train
from pngan.train.runfolder import run_traces

Synth = Callable[[np.ndarray, int], np.ndarray]  # (clean, seed) -> noisy


class PairConditioned:
    """A synth told, per training pair, the fingerprint of that pair's own real noisy photo (a generator told
    the camera, smnet-c): the generated pairs stand for the training photos, the test pairs are never read."""

    def __init__(self, model) -> None:
        self.model = model

    def for_pair(self, pair: Pair) -> Synth:
        from pngan.generate.sampler import generate
        from pngan.realism.condition import per_image_vectors

        cond = per_image_vectors([read_image(pair.noisy)], [Path(pair.noisy).name])[0]
        return lambda clean, s: generate(self.model, clean, seed=s, cond=cond)


def synthetic_pairs(train_pairs: list[Pair], synth: Synth | PairConditioned, out: Path, samples: int,
                    seed: int) -> list[Pair]:
    """Noisy images made by ``synth`` from the clean side of ``train_pairs``, written under ``out``."""
    pairs = []
    for p in train_pairs:
        clean = read_image(p.clean)
        fn = synth.for_pair(p) if isinstance(synth, PairConditioned) else synth
        for k in range(samples):
            path = out / f"{p.id}_{k}.png"
            write_image(path, fn(clean, sample_seed(seed, p.id, k)))
            pairs.append(Pair(f"{p.id}_{k}", path, p.clean))
    return pairs


def heldout_psnr(weights: Path, test_pairs: list[Pair]) -> float:
    """Mean PSNR of the denoiser in ``weights`` over real test pairs (whole images)."""
    run = TorchRunner(load(weights))
    scores = []
    for p in test_pairs:
        y = from_tensor_batch(run(to_tensor_batch(read_image(p.noisy))))
        scores.append(psnr(y, read_image(p.clean)))
    return float(np.mean(scores))


def pgap(cfg: TrainConfig, train_dir: Path, test_dir: Path, synth: Synth, samples: int = 1,
         progress: bool = False) -> dict[str, float]:
    """Train ``cfg.model.denoiser`` from scratch twice with the same budget; returns both PSNRs and the gap.

    Refuses an ``out_dir`` that holds an earlier PGap run."""
    out = Path(cfg.run.out_dir)
    used = [f"{name}/" for name in ("real", "generated") if run_traces(out / name)]
    if used:  # before the generated pairs are written again
        raise PnganError(f"{out} already holds a PGap run ({', '.join(used)}): pass another --out")
    real_pairs, tests = find_pairs(train_dir), find_pairs(test_dir)
    fake_pairs = synthetic_pairs(real_pairs, synth, out / "generated_pairs", samples, cfg.run.seed)
    result = {}
    for name, pairs in (("real", real_pairs), ("generated", fake_pairs)):
        cfg.run.out_dir = str(out / name)
        cfg.data.val_dir = str(test_dir)
        weights = out / f"{name}.safetensors"
        train("denoiser", cfg, export_weights=weights, progress=progress, pairs=pairs)
        result[f"psnr_{name}"] = heldout_psnr(weights, tests)
    cfg.run.out_dir = str(out)
    result["pgap"] = result["psnr_real"] - result["psnr_generated"]
    return result
