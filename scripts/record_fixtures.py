"""Record numeric fixtures of every registered architecture: outputs at fixed weights and a fixed input.

    python scripts/record_fixtures.py [--out tests/data/fixtures/models.json] [--check]

Weights do not come from torch's initialisers (whose random streams change between torch
versions): every parameter is filled from ``numpy.random.RandomState(crc32(name) + SEED)``,
where ``name`` is its state-dict key (a parameter shared by several keys, e.g. MIRNet's DAU
PReLU, takes the alphabetically first one), scaled by its fan-in:

* weights with >= 2 dims: normal, std ``1 / sqrt(prod(shape[1:]))``;
* 1-dim parameters (biases, PReLU slopes, ...): ``0.05 * normal`` (PReLU slopes of either sign);
* spectral-norm power-iteration vectors (buffers ``_u`` / ``_v``): the leading singular vectors of
  the filled weight matrix (numpy SVD, float64), so sigma is the true spectral norm in eval mode.

Other buffers (MIRNet's fixed blur ``filt``) keep their constructed values. The input is
``RandomState(INPUT_SEED).rand(1, 3, H, W)`` (float32; a generator given its noise also gets
``RandomState(INPUT_SEED + 2)`` standard-normal noise), at a size that is a multiple of every
stride and at an odd size (which exercises the pad-and-crop wrappers). Each output is summarised
by its shape, sum, sum of absolute values, sum of squares and ``SAMPLES`` values at fixed indices,
once as the network computes it and once clamped to [0, 1] (what the exported/deployed form computes).

``--check`` compares the current code with the committed file instead of writing it (exit 1 on a
difference). Tests: tests/test_fixtures_models.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

SEED = 20240
INPUT_SEED = 7
SAMPLES = 12
SIZES = {"multiple": (16, 20), "odd": (13, 19)}  # (H, W): 16x20 is a multiple of 4 and 8
RTOL = 1e-4  # relative to the output's mean |value| (sampled values) or to the statistic itself
CHECKED = ("mirnet and ridnet, filled the same way, gave outputs identical (max |diff| 0.0) to a by-hand transcription "
           "of the official caiyuanhao1998/PNGAN networks/MIRNet_model.py (MIRNet(): 3 RRG x 2 MSRB, 64 features) and "
           "networks/RIDNet/ridnet.py (RIDNET(): 64 features, 4 EAM blocks) at commit bd96b0d, at 16x20 and 24x16, "
           "also after a strict load of the project's state dict into them; parameter counts 31,787,419 (MIRNet "
           "paper: 31.8M) and 1,499,371 (RIDNet paper: 1.5M). dncnn and discriminator agree with functional "
           "re-computations written from their descriptions in tests/test_fixtures_models.py.")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "fixtures" / "models.json"


def _fan_in_normal(name: str, shape: tuple[int, ...]) -> np.ndarray:
    rs = np.random.RandomState((zlib.crc32(name.encode()) + SEED) % 2**32)
    if len(shape) >= 2:
        return rs.standard_normal(shape) / np.sqrt(float(np.prod(shape[1:])))
    return 0.05 * rs.standard_normal(shape)


def fill_deterministic(model: nn.Module) -> nn.Module:
    """Overwrite every parameter (and spectral-norm u/v) of ``model`` from numpy, by name; returns it."""
    groups: dict[int, tuple[list[str], torch.Tensor]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), ([], p))[0].append(name)
    with torch.no_grad():
        for names, p in groups.values():
            name = min(names)
            p.copy_(torch.from_numpy(_fan_in_normal(name, tuple(p.shape))).to(p.dtype))
        for m in model.modules():
            for sn in getattr(getattr(m, "parametrizations", {}), "weight", []):
                if hasattr(sn, "_u"):  # torch.nn.utils.parametrizations.spectral_norm
                    w = m.parametrizations.weight.original.detach().double()
                    w = w.movedim(sn.dim, 0).flatten(1).numpy()
                    u, _, vt = np.linalg.svd(w, full_matrices=False)
                    sn._u.copy_(torch.from_numpy(u[:, 0]).to(sn._u.dtype))
                    sn._v.copy_(torch.from_numpy(vt[0]).to(sn._v.dtype))
    return model.eval()


def fixed_input(h: int, w: int) -> torch.Tensor:
    return torch.from_numpy(np.random.RandomState(INPUT_SEED).rand(1, 3, h, w).astype(np.float32))


def model_inputs(model: nn.Module, h: int, w: int) -> tuple[torch.Tensor, ...]:
    """The fixed input, and for a generator given its noise (smnet-n) also ``RandomState(INPUT_SEED + 2)``
    standard-normal noise of its ``noise_channels``; for one told the camera (smnet-c) also a fingerprint
    vector, ``RandomState(INPUT_SEED + 3)`` standard-normal times 0.5."""
    x = fixed_input(h, w)
    if not getattr(model, "takes_noise", False):
        return (x,)
    z = np.random.RandomState(INPUT_SEED + 2).standard_normal((1, model.noise_channels, h, w)).astype(np.float32)
    if not getattr(model, "takes_fingerprint", False):
        return x, torch.from_numpy(z)
    cond = 0.5 * np.random.RandomState(INPUT_SEED + 3).standard_normal((1, model.cond_dim)).astype(np.float32)
    return x, torch.from_numpy(z), torch.from_numpy(cond)


def sample_indices(shape: tuple[int, ...]) -> list[list[int]]:
    """``SAMPLES`` fixed positions in an output of ``shape`` (always including the first and last)."""
    rs = np.random.RandomState(INPUT_SEED + 1)
    idx = [[0] * len(shape), [d - 1 for d in shape]]
    idx += [[int(rs.randint(d)) for d in shape] for _ in range(SAMPLES - 2)]
    return idx


def summarise(y: torch.Tensor) -> dict[str, Any]:
    a = y.detach().double().numpy()
    return {"shape": list(a.shape), "sum": float(a.sum()), "abs_sum": float(np.abs(a).sum()),
            "sq_sum": float((a ** 2).sum()),
            "samples": [[*i, float(a[tuple(i)])] for i in sample_indices(a.shape)]}


def run_model(name: str, size: tuple[int, int]) -> torch.Tensor:
    from pngan.models import build

    model = fill_deterministic(build(name))
    with torch.no_grad():
        return model(*model_inputs(model, *size))


def compare(expected: dict[str, Any], got: dict[str, Any], rtol: float = RTOL) -> list[str]:
    """Differences between two summaries (empty: they agree within ``rtol``)."""
    if expected["shape"] != got["shape"]:
        return [f"shape {got['shape']} != {expected['shape']}"]
    scale = expected["abs_sum"] / float(np.prod(expected["shape"]))  # mean |value|
    bad = []
    for key in ("sum", "abs_sum", "sq_sum"):
        tol = rtol * max(abs(expected[key]), expected["abs_sum"] if key == "sum" else 0.0)
        if abs(got[key] - expected[key]) > tol:
            bad.append(f"{key} {got[key]:.8g} != {expected[key]:.8g} (tol {tol:.2g})")
    for e, g in zip(expected["samples"], got["samples"]):
        if e[:-1] != g[:-1] or abs(g[-1] - e[-1]) > rtol * max(abs(e[-1]), scale):
            bad.append(f"value at {e[:-1]}: {g[-1]:.8g} != {e[-1]:.8g}")
    return bad


def architectures() -> list[str]:
    from pngan.models import names

    return names()


def record() -> dict[str, Any]:
    from pngan.models import build, spec

    out: dict[str, Any] = {
        "how": "scripts/record_fixtures.py: weights filled from numpy by state-dict name (see its docstring), "
               "input RandomState(7).rand(1, 3, H, W), model.eval(), torch.no_grad()",
        "checked": CHECKED,
        "seed": SEED, "input_seed": INPUT_SEED, "rtol": RTOL, "recorded_with_torch": torch.__version__,
        "models": {}}
    for name in architectures():
        model = build(name)
        entry: dict[str, Any] = {"config": spec(name).defaults,
                                 "parameters": sum(p.numel() for p in model.parameters()),
                                 "state_dict_keys": len(model.state_dict()), "outputs": {}}
        for label, size in SIZES.items():
            y = run_model(name, size)
            # "clamped": what the deployed form computes (InferenceModel: output clamped to [0, 1])
            entry["outputs"][label] = {"input_hw": list(size), **summarise(y), "clamped": summarise(y.clamp(0, 1))}
        out["models"][name] = entry
    return out


def to_json(rec: dict[str, Any]) -> str:
    """Indented JSON with every list of numbers on one line."""
    text = json.dumps(rec, indent=1)
    return re.sub(r"\[[-+0-9.e,\s]*\]", lambda m: json.dumps(json.loads(m.group(0))), text) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="Compare with --out instead of writing it.")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rec = record()
    if args.check:
        ref = json.loads(args.out.read_text())
        bad = [f"{m}/{k}{c}: {d}" for m, e in ref["models"].items() for k, o in e["outputs"].items()
               for c, a, b in (("", o, rec["models"][m]["outputs"][k]),
                               (" clamped", o["clamped"], rec["models"][m]["outputs"][k]["clamped"]))
               for d in compare(a, b)]
        print("\n".join(bad) or f"all {len(ref['models'])} architectures match {args.out}")
        return 1 if bad else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_json(rec))
    for m, e in rec["models"].items():
        o = e["outputs"]["multiple"]
        print(f"{m:14s} params {e['parameters']:>9d} keys {e['state_dict_keys']:>4d}  sum {o['sum']:+.6e}  "
              f"abs_sum {o['abs_sum']:.6e}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
