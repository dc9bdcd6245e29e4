"""A noise fingerprint as a conditioning vector for a generator (``smnet-c``), and where fingerprints come from.

The vector (``COND_DIM`` float32 values) is, in order:

- ``log(nlf / 10)`` for the ``BINS`` x 3 noise level function (row-major: bin, then R, G, B), each missing bin
  taken from the nearest measured bin of its channel, a channel without any from its overall std;
- ``log(std / 10)`` per channel; lag-1; the R-G, R-B, G-B correlations; spectrum tilt / 10 dB; log blockiness.

The generator turns the first ``BINS * 3`` values back into the noise level of each pixel from its intensity,
so the level it draws is the camera's (and it learns only the correction of what the estimator reads low or
high). :func:`reference_fingerprint` reads ``--like``: a folder of noisy photos, a fingerprint JSON, or a
named preset shipped in the package (``PRESETS``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from pngan.errors import PnganError, PnganWarning
from pngan.models.smnet_cond import BINS as GENERATOR_BINS, COND_DIM, LEVEL_UNIT  # noqa: F401  (the layout)
from pngan.realism.fingerprint import (NoiseFingerprint, estimate_fingerprint, fill_missing_bins, from_json,
                                       noisy_photos, pool)
from pngan.realism.fingerprint_estimate import BINS, FingerprintError, measure_image

if BINS != GENERATOR_BINS:  # pragma: no cover - a consistency check between the two layers
    raise ImportError("the noise fingerprint's intensity bins must be smnet-c's")
PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "fingerprints"
PRESETS = {"phone": "sidd12-train.json", "dslr": "polyu100-train.json"}
DEFAULT_PRESET = "phone"


def nlf_table(fp: NoiseFingerprint) -> np.ndarray:
    """(BINS, 3) noise std (0-255) per bin and channel with every missing bin filled (see the module docstring)."""
    raw = np.array([[np.nan if v is None else float(v) for v in row] for row in fp.nlf], np.float64)
    return np.maximum(fill_missing_bins(raw, np.asarray(fp.std, np.float64)), 0.1)


def condition_vector(fp: NoiseFingerprint) -> np.ndarray:
    """(COND_DIM,) float32: the generator's view of a fingerprint."""
    parts = [np.log(nlf_table(fp) / LEVEL_UNIT).ravel(), np.log(np.maximum(fp.std, 0.1) / LEVEL_UNIT),
             [fp.lag1], fp.between_channels, [fp.spectrum_tilt_db / 10.0], [np.log(max(fp.blockiness, 1e-3))]]
    return np.concatenate([np.asarray(p, np.float64) for p in parts]).astype(np.float32)


def preset_fingerprint(name: str) -> NoiseFingerprint:
    """A shipped fingerprint by name (``PRESETS``)."""
    if name not in PRESETS:
        raise PnganError(f"unknown noise fingerprint preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return from_json((PRESET_DIR / PRESETS[name]).read_text())


def reference_fingerprint(like: str | Path | None) -> tuple[NoiseFingerprint, str]:
    """``(fingerprint, what it is)`` for ``--like``: None (the default preset), a preset name, a fingerprint
    JSON file, or a folder of noisy photos (or a paired folder, whose noisy half is read). A preset's name wins
    over a folder of that name (``./phone`` is the folder)."""
    if like is None or str(like) in PRESETS:
        name = DEFAULT_PRESET if like is None else str(like)
        return preset_fingerprint(name), f"preset '{name}' ({PRESETS[name]})"
    path = Path(like)
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise PnganError(f"--like {path}: a file must be a noise fingerprint JSON (pngan noise-profile --json); "
                             "for photos give their folder")
        try:
            return from_json(path.read_text()), f"fingerprint {path}"
        except PnganError as e:
            raise PnganError(f"--like {path}: {e}") from None
    if not path.is_dir():
        raise PnganError(f"--like {like}: no such folder, fingerprint JSON or preset "
                         f"({', '.join(sorted(PRESETS))})")
    files = noisy_photos(path)[0]
    fp = estimate_fingerprint((_read(f) for f in files), [f.name for f in files])
    return fp, f"{fp.images} noisy photo(s) in {path}"


def _read(path: Path) -> np.ndarray:
    from pngan.io.images import read_image

    return read_image(path)


def per_image_vectors(noisy: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """(N, COND_DIM): each photo's own fingerprint (as ``--like`` on that photo alone would read it). A photo
    the estimator cannot read, or one with no flat area among the set (:func:`pool`'s rule), gets the
    fingerprint of the others, with a warning."""
    measured, bad = [], []
    for img, name in zip(noisy, names):
        try:
            measured.append(measure_image(img, name))
        except FingerprintError as e:
            measured.append(None)
            bad.append(str(e))
    ok = [m for m in measured if m is not None]
    if not ok:
        raise PnganError(f"no photo's noise could be measured ({bad[0] if bad else 'no photos'})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PnganWarning)
        together = pool(ok)
    fallback = condition_vector(together)
    out = []
    for m, name in zip(measured, names):
        if m is None or m.name in together.left_out:
            warnings.warn(PnganWarning(f"{name}: conditioned on the set's fingerprint (its own cannot be "
                                       "measured)"), stacklevel=2)
            out.append(fallback)
        else:
            out.append(condition_vector(pool([m])))
    return np.stack(out)


OTHERS = "others"  # eval-noise: each scored photo told the camera by the other scored photos
SELF = "self"  # eval-noise, a diagnosis only: each scored photo told its own fingerprint (an oracle)


def scored_conditions(noisy: Sequence[Path], like: str | Path | None,
                      groups: Sequence[str] | None = None) -> tuple[list[np.ndarray], str]:
    """``(one vector per scored photo, what they are)`` for ``pngan eval-noise --like``: the reference
    (:func:`reference_fingerprint`), or with ``"others"`` each photo's pool of the other scored photos of its
    group (``groups``: its camera), of all the others where its group has no other photo. A
    reference folder may not hold any of the scored photos (scored noise would be told its own level).
    ``"self"`` tells each photo its own fingerprint: an oracle that separates the generator from its reference,
    never a held-out number."""
    if like is not None and str(like) == SELF:
        return (list(per_image_vectors([_read(f) for f in noisy], [f.name for f in noisy])),
                "each scored photo's own (an oracle, not held out)")
    if like is not None and str(like) == OTHERS:
        if len(noisy) < 2:
            raise PnganError("--like others needs at least 2 scored pairs (each is told the camera by the others)")
        measured = [measure_image(_read(f), f.name) for f in noisy]
        groups = list(groups) if groups is not None else [""] * len(noisy)
        out, grouped = [], 0
        for i, g in enumerate(groups):
            same = [j for j, h in enumerate(groups) if h == g and j != i]
            grouped += bool(same)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PnganWarning)
                out.append(condition_vector(pool([measured[j] for j in same or
                                                  [j for j in range(len(noisy)) if j != i]])))
        return out, (f"the other scored photos of the same camera ({grouped} of {len(noisy)}; the rest: all "
                     "other scored photos), never the photo itself")
    if like is not None and Path(like).is_dir():
        scored = {Path(f).resolve() for f in noisy} | {Path(f).name for f in noisy}
        shared = [f.name for f in noisy_photos(Path(like))[0] if f.resolve() in scored or f.name in scored]
        if shared:
            raise PnganError(f"--like {like} holds {len(shared)} of the scored photos ({', '.join(shared[:3])}): "
                             "the reference must be other photos of the camera (or --like others)")
    fp, what = reference_fingerprint(like)
    return [condition_vector(fp)] * len(noisy), what


def generator_conditions(model, noisy: Sequence[Path], like, groups: Sequence[str] | None = None
                         ) -> tuple[list, str | None]:
    """Per scored photo, the vector a generator told the camera gets (:func:`scored_conditions`), and what it
    is; ``None`` each for any other generator (which ``like`` may not be given for)."""
    from pngan.models.smnet_cond import takes_fingerprint

    if model is None or not takes_fingerprint(model):
        if like is not None:
            raise PnganError("--like needs a generator told the camera by a fingerprint (smnet-c)")
        return [None] * len(noisy), None
    return scored_conditions(noisy, like, groups)
