"""Noise realism of fake noisy images against real ones: AKLD and the noise texture (``pngan eval-noise``).

Files are paired across the folders by name stem: the extension and the tokens ``real``, ``mean``,
``fake``, ``noisy``, ``gt`` (any case, ``_``-separated) are dropped, so ``X_mean.JPG`` / ``X_real.JPG`` /
``X_fake.png`` and SIDD's ``0001_GT_SRGB_010.PNG`` / ``0001_NOISY_SRGB_010.PNG`` pair up. A fake folder
holds one ``<stem>.png`` or several samples ``<stem>_<k>.png`` (k = 0 .. L-1) per image. The group of an
image (its camera, for the per-camera noise level function) is the stem up to the first ``_``
(PolyU: ``Canon5D2``, ``NikonD800``, ...). :func:`evaluate_noise` computes everything and returns a
:class:`NoiseReport`; :mod:`pngan.realism.summary` prints it and writes its JSON and figures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pngan.errors import PnganError
from pngan.io.images import read_image
from pngan.metrics import kl_gauss_zero_center, noise_variance_map
from pngan.metrics.noise_texture import MIN_SIDE, NoiseTexture, check_size, compare, hist_kld

STEM_TOKENS = frozenset({"real", "mean", "fake", "noisy", "gt"})
_SAMPLE_RE = re.compile(r"^(?P<stem>.+)_(?P<k>\d+)$")
CROP, CROP_IMAGES = 96, 5  # figure crops: side, and how many images (one per group first)


class EvalNoiseError(PnganError):
    """Unpairable, missing or inconsistent inputs for ``eval-noise``."""


def pair_stem(path: Path) -> str:
    """Name stem used to pair files: extension and the known role tokens removed."""
    parts = [t for t in path.stem.split("_") if t.lower() not in STEM_TOKENS]
    return "_".join(parts) or path.stem


def group_of(stem: str) -> str:
    """The group (camera) of an image: its stem up to the first ``_``."""
    return stem.split("_", 1)[0]


def _index(folder: Path, role: str) -> dict[str, Path]:
    from pngan.io.images import list_images

    out: dict[str, Path] = {}
    for f in list_images(folder):
        s = pair_stem(f)
        if s in out:
            raise EvalNoiseError(f"{role} folder {folder}: {out[s].name} and {f.name} have the same stem {s!r}")
        out[s] = f
    return out


def _names(items) -> str:
    items = sorted(items)
    return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def pair_folders(clean_dir: Path, real_dir: Path, fake_dir: Path | None = None
                 ) -> list[tuple[str, Path, Path, list[Path]]]:
    """``[(stem, clean, real, fakes)]`` sorted by stem; ``EvalNoiseError`` on anything unmatched."""
    clean, real = _index(clean_dir, "clean"), _index(real_dir, "real")
    if clean.keys() - real.keys():
        raise EvalNoiseError(f"no real noisy image in {real_dir} for: {_names(clean.keys() - real.keys())}")
    if real.keys() - clean.keys():
        raise EvalNoiseError(f"no clean image in {clean_dir} for: {_names(real.keys() - clean.keys())}")
    fakes: dict[str, list[tuple[int, Path]]] = {s: [] for s in clean}
    if fake_dir is not None:
        from pngan.io.images import list_images

        stray = []
        for f in list_images(fake_dir):
            s = pair_stem(f)
            m = _SAMPLE_RE.match(s)
            if s in fakes:  # <stem>.png (an exact stem wins over a numbered reading)
                fakes[s].append((-1, f))
            elif m and m["stem"] in fakes:  # <stem>_<k>.png
                fakes[m["stem"]].append((int(m["k"]), f))
            else:
                stray.append(f.name)
        if stray:
            raise EvalNoiseError(f"fake images in {fake_dir} match no clean image: {_names(stray)}")
        missing = [s for s, v in fakes.items() if not v]
        if missing:
            raise EvalNoiseError(f"no fake image in {fake_dir} for: {_names(missing)} "
                                 f"(expected <stem>.png or <stem>_<k>.png)")
    return [(s, clean[s], real[s], [p for _, p in sorted(fakes[s])]) for s in sorted(clean)]


def _check_size(ref: np.ndarray, img: np.ndarray, ref_path: Path, name: str) -> None:
    if img.shape != ref.shape:
        raise EvalNoiseError(f"size mismatch: {ref_path.name} is {ref.shape[1]}x{ref.shape[0]}, "
                             f"{name} is {img.shape[1]}x{img.shape[0]}")


def _header_size(path: Path) -> tuple[int, int] | None:
    """(H, W) from the file header, upright (EXIF orientation); ``None`` if unreadable (reading reports it)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            return (w, h) if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else (h, w)
    except Exception:  # noqa: BLE001 - read_image gives the one-line reason later
        return None


def check_sizes(pairs: list[tuple[str, Path, Path, list[Path]]]) -> None:
    """Before any work: every real and fake image has its clean image's size, and that is large enough."""
    for stem, clean_p, real_p, fake_ps in pairs:
        ref = _header_size(clean_p)
        if ref is None:
            continue
        for p in [real_p, *fake_ps]:
            size = _header_size(p)
            if size is not None and size != ref:
                raise EvalNoiseError(f"size mismatch: {clean_p.name} is {ref[1]}x{ref[0]}, "
                                     f"{p.name} is {size[1]}x{size[0]}")
        if min(ref) < MIN_SIDE:
            check_size((*ref, 3), f"{stem}: {clean_p.name}")


def generator_names() -> list[str]:
    """The names ``--weights`` takes: generator models with shipped weights, then shipped generator files."""
    from pngan.models import names, shipped_weights, spec
    from pngan.models.weights import read_metadata
    from pngan.weights import folder
    from pngan.weights import names as shipped_files

    out = [n for n in names() if spec(n).kind == "generator" and shipped_weights(n) is not None]
    for stem in shipped_files():
        try:
            if spec(read_metadata(folder() / f"{stem}.safetensors")["name"]).kind == "generator":
                out.append(stem)
        except PnganError:
            continue
    return out


def resolve_generator(weights: str | os.PathLike) -> Path:
    """The generator weights file ``weights`` names: a path, a shipped file's name (``smnet-s_polyu``), or a
    generator model with shipped weights (``smnet-s``: its shipped file). ``EvalNoiseError`` otherwise, in one
    line that says what ``weights`` is and what to pass instead."""
    from pngan.errors import CheckpointError, ModelError
    from pngan.io.images import IMAGE_SUFFIXES
    from pngan.models import shipped_weights, spec
    from pngan.models.weights import read_metadata
    from pngan.weights import resolve

    def refuse(what: str) -> EvalNoiseError:
        return EvalNoiseError(f"{what}; --weights takes a generator .safetensors file or a shipped name "
                              f"({', '.join(generator_names())})")

    p = resolve(weights)
    if not p.exists():
        try:
            model = spec(str(weights))
        except ModelError:
            raise refuse(f"{weights}: no such file or shipped weights") from None
        shipped = shipped_weights(model.name) if model.kind == "generator" else None
        if shipped is None:
            raise refuse(f"{weights} is a {model.kind}, not a noise generator" if model.kind != "generator"
                         else f"no shipped weights for {model.name}")
        return shipped
    what = "a folder" if p.is_dir() else "an image" if p.suffix.lower() in IMAGE_SUFFIXES else None
    if what or p.suffix != ".safetensors":
        raise refuse(f"{p} is {what}, not generator weights" if what else f"{p}: not a .safetensors file")
    try:
        name = read_metadata(p)["name"]
        kind = spec(name).kind
    except (CheckpointError, ModelError) as e:
        raise refuse(str(e)) from None
    if kind != "generator":
        raise refuse(f"{p}: holds a {name} {kind}, not a noise generator")
    return p


def load_generator(weights: str | os.PathLike):
    """The generator :func:`resolve_generator` finds for ``weights``, loaded."""
    from pngan.models import load_model

    return load_model(None, resolve_generator(weights))


@dataclass
class NoiseReport:
    """Everything ``eval-noise`` measured (see :meth:`to_json` for the JSON layout)."""

    akld: float
    per_image: dict[str, float]
    samples: int | dict[str, int]
    texture: dict  # noise_texture.compare(real, fake): hist_kld (+ per image), spectrum_db, autocorrelation_mae
    reference: dict  # best AWGN level by AKLD: level, akld, per_image, note, and its compare(real, AWGN)
    stats: dict  # noise_texture summaries: real, fake, reference_awgn
    histograms: dict = field(default_factory=dict)  # real, fake, reference_awgn: per 8-bit level -255..255
    crops: list = field(default_factory=list)  # [(stem, clean, real, fake, awgn)] small crops for the figures
    like: str | None = None  # the fingerprint a generator told the camera was given (smnet-c)

    def to_json(self) -> dict:
        """``{akld, per_image, samples, hist_kld, hist_kld_per_image, spectrum_db, autocorrelation_mae,
        reference_awgn: {level, note, akld, per_image, hist_kld, ...}, stats: {real, fake, reference_awgn}}``."""
        return {"akld": self.akld, "per_image": self.per_image, "samples": self.samples, **self.texture,
                "reference_awgn": self.reference, "stats": self.stats, "like": self.like}


def stochastic_fraction(clean: np.ndarray, fake_a: np.ndarray, fake_b: np.ndarray) -> float:
    """Share of the fake residual's power that changes with the seed: ``var(a - b) / 2 / var(a - clean)``
    for two samples ``a``, ``b`` of one clean image (1 for pure noise; near 0 for a deterministic change of
    the content, which no denoiser can undo and which AKLD and the histogram still count as noise)."""
    a, b, c = (x.astype(np.float64) for x in (fake_a, fake_b, clean))
    total = float(np.var(a - c))
    return float(np.var(a - b) / 2 / total) if total > 0 else 0.0


def _crop(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
    return img[y:y + CROP, x:x + CROP].copy()


def check_sources(fake_dir: Path | None, generator: str | os.PathLike | None, samples: int) -> None:
    """Exactly one source of fakes, and at least one sample."""
    if (fake_dir is None) == (generator is None):
        raise EvalNoiseError("give one source of fakes: --fake DIR or --weights PATH|NAME"
                             + (", not both" if fake_dir is not None else ""))
    if samples < 1:
        raise EvalNoiseError(f"--samples must be >= 1, got {samples}")


def _ahead(fn: Callable, items: list) -> Iterator:
    """``fn(item)`` for each item in order, each computed in a worker thread while the caller uses the one
    before (the same computations as in a plain loop, so the same numbers)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="eval-noise")
    try:
        nxt = pool.submit(fn, items[0]) if items else None
        for i in range(len(items)):
            cur, nxt = nxt.result(), pool.submit(fn, items[i + 1]) if i + 1 < len(items) else None
            yield cur
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _one_image(pair: tuple[str, Path, Path, list[Path]], model, samples: int, seed: int, cond=None) -> tuple:
    """One image on its own: ``(clean, real, fakes, AKLD of fakes, AKLD of AWGN per level, share or None)``."""
    from pngan.models.sampling import generate
    from pngan.models.inputs import sample_seed
    from pngan.noise.baselines import GRIDS

    stem, clean_p, real_p, fake_ps = pair
    clean, real = read_image(clean_p), read_image(real_p)
    _check_size(clean, real, clean_p, real_p.name)
    check_size(clean.shape, f"{stem}: {clean_p.name}")
    if model is not None:  # as DANet's demo_AKLD.py: each sample clamped to [0, 1] right after generation
        fakes = [np.clip(generate(model, clean, sample_seed(seed, clean_p.name, k), cond=cond), 0.0, 1.0)
                 for k in range(samples)]
        names = [f"generated sample {k}" for k in range(samples)]
    else:
        fakes, names = [read_image(p) for p in fake_ps], [p.name for p in fake_ps]
    for fk, name in zip(fakes, names):
        _check_size(clean, fk, clean_p, name)
    v_real = noise_variance_map(real, clean)  # once per image: AKLD of the fakes and of every AWGN level

    def akld_of(noisy: list) -> float:  # = akld_image(clean, real, noisy)
        return float(np.mean([kl_gauss_zero_center(noise_variance_map(f, clean), v_real) for f in noisy]))

    awgn = [akld_of([fn(clean, np.random.default_rng(sample_seed(seed, clean_p.name, 0)))])  # barely varies
            for _, fn in GRIDS["gaussian"]]
    share = stochastic_fraction(clean, fakes[0], fakes[1]) if len(fakes) >= 2 else None
    return clean, real, fakes, akld_of(fakes), awgn, share


def _per_stem(stems: list[str], cmp: dict) -> dict:
    """The per-image lists of :func:`compare` as ``{stem: value}``."""
    return {k: dict(zip(stems, cmp[k])) for k in ("hist_kld_per_image", "hist_kld_centred_per_image")}


@dataclass
class _Tally:
    """What the pass over the images gathers: AKLD per image, the textures, AKLD of AWGN per level, crops."""

    awgn: dict[str, list[float]]  # AKLD of AWGN at each level, one sample per image
    per_image: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    real: NoiseTexture = field(default_factory=NoiseTexture)
    fake: NoiseTexture = field(default_factory=NoiseTexture)
    crops: list = field(default_factory=list)
    crop_groups: set = field(default_factory=set)
    stochastic: list[float] = field(default_factory=list)

    def add(self, stem: str, clean: np.ndarray, real: np.ndarray, fakes: list[np.ndarray], akld: float,
            awgn_levels: list[float], share: float | None) -> None:
        self.per_image[stem] = akld
        if share is not None:
            self.stochastic.append(share)
        self.counts[stem] = len(fakes)
        self.real.add(clean, real, group_of(stem))
        self.fake.add(clean, fakes, group_of(stem))
        for label, v in zip(self.awgn, awgn_levels):
            self.awgn[label].append(v)
        if group_of(stem) not in self.crop_groups and len(self.crops) < CROP_IMAGES:
            self.crop_groups.add(group_of(stem))
            self.crops.append([stem, _crop(clean), _crop(real), _crop(fakes[0])])

    def last_hist_kld(self) -> float:
        """The histogram KLD of the image added last, its fake samples averaged."""
        return float(np.mean([hist_kld(self.real.hists[-1][0], q) for q in self.fake.hists[-1]]))


def _check_request(pairs: list, generator: str | os.PathLike | None, samples: int) -> None:
    if samples < 1:
        raise EvalNoiseError(f"--samples must be >= 1, got {samples}")
    if not pairs:
        raise EvalNoiseError("no image pairs to evaluate")
    if generator is None and not all(f for *_, f in pairs):
        raise EvalNoiseError("no fake images for: " + _names(s for s, *_, f in pairs if not f))
    check_sizes(pairs)


def evaluate_noise(pairs: list[tuple[str, Path, Path, list[Path]]], generator: str | os.PathLike | None = None,
                   samples: int = 1, seed: int = 0,
                   on_image: Callable[[str, float, float, int], None] | None = None,
                   like: str | os.PathLike | None = None) -> NoiseReport:
    """AKLD and texture statistics of the fakes (those of :func:`pair_folders`, or ``samples`` per image
    from ``generator``, weights or a name as :func:`resolve_generator` takes), and of AWGN at its best level
    by AKLD on these very images (an oracle reference, 1 sample per image). ``on_image(stem, akld, hist_kld,
    n_samples)`` is called as each image is done; the next image is read (and generated) meanwhile.

    ``evaluate_noise(pair_folders(clean_dir, real_dir, fake_dir))`` scores a folder of fakes. ``like``: the
    camera of a generator told it by a fingerprint (:func:`pngan.realism.condition.scored_conditions`).
    """
    from pngan.noise.baselines import GRIDS
    from pngan.realism.condition import generator_conditions

    _check_request(pairs, generator, samples)
    model = load_generator(generator) if generator is not None else None
    conds, like_what = generator_conditions(model, [p[2] for p in pairs], like, [group_of(p[0]) for p in pairs])
    tally = _Tally({label: [] for label, _ in GRIDS["gaussian"]})
    done = _ahead(lambda i: _one_image(pairs[i], model, samples, seed, conds[i]), list(range(len(pairs))))
    for (stem, *_), result in zip(pairs, done):
        tally.add(stem, *result)
        if on_image is not None:
            on_image(stem, tally.per_image[stem], tally.last_hist_kld(), tally.counts[stem])
    best_label = min(tally.awgn.items(), key=lambda kv: np.mean(kv[1]))[0]
    report = _report(tally, best_label, _reference_texture(pairs, best_label, seed, tally.crops))
    report.like = like_what
    return report


def _reference_texture(pairs: list, label: str, seed: int, crops: list) -> NoiseTexture:
    """The texture of AWGN at ``label`` (the same samples as in the AKLD pass, clean read again); its crops
    are appended to ``crops``."""
    from pngan.models.inputs import sample_seed
    from pngan.noise.baselines import GRIDS

    best_fn = dict(GRIDS["gaussian"])[label]
    ref_t = NoiseTexture()

    def best_awgn(pair: tuple) -> tuple[np.ndarray, np.ndarray]:
        clean = read_image(pair[1])
        return clean, best_fn(clean, np.random.default_rng(sample_seed(seed, pair[1].name, 0)))

    for (stem, *_), (clean, ref) in zip(pairs, _ahead(best_awgn, pairs)):
        ref_t.add(clean, ref, group_of(stem))
        for c in crops:
            if c[0] == stem:
                c.append(_crop(ref))
    return ref_t


def _report(tally: _Tally, best_label: str, ref_t: NoiseTexture) -> NoiseReport:
    """The :class:`NoiseReport` of a finished tally and its AWGN reference."""
    from pngan.noise.baselines import at_edge

    best_scores = tally.awgn[best_label]
    ref_cmp, fake_cmp = compare(tally.real, ref_t), compare(tally.real, tally.fake)
    stems = list(tally.per_image)
    n_samples = set(tally.counts.values())
    return NoiseReport(
        akld=float(np.mean(list(tally.per_image.values()))), per_image=tally.per_image,
        samples=n_samples.pop() if len(n_samples) == 1 else tally.counts,
        texture={**fake_cmp, **_per_stem(stems, fake_cmp),
                 "stochastic_fraction": float(np.mean(tally.stochastic)) if tally.stochastic else None},
        reference={"level": best_label, "at_edge": at_edge("gaussian", best_label),
                   "akld": float(np.mean(best_scores)),
                   "per_image": dict(zip(stems, best_scores)),
                   "note": "best AWGN level on these very images by AKLD (an oracle), 1 sample per image",
                   **ref_cmp, **_per_stem(stems, ref_cmp)},
        stats={"real": tally.real.summary(), "fake": tally.fake.summary(), "reference_awgn": ref_t.summary()},
        histograms={k: t.level_histogram() for k, t in (("real", tally.real), ("fake", tally.fake),
                                                          ("reference_awgn", ref_t))},
        crops=[tuple(c) for c in tally.crops])
