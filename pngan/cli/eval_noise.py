"""``pngan eval-noise``: AKLD of generated noise against real noise, with optional figures.

Files are paired across the folders by name stem: the extension and the tokens
``real``, ``mean``, ``fake``, ``noisy``, ``gt`` (any case, ``_``-separated) are
dropped, so ``X_mean.JPG`` / ``X_real.JPG`` / ``X_fake.png`` and SIDD's
``0001_GT_SRGB_010.PNG`` / ``0001_NOISY_SRGB_010.PNG`` pair up. A fake folder holds
one ``<stem>.png`` or several samples ``<stem>_<k>.png`` (k = 0 .. L-1) per image.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from pngan.cli.errors import run_cli
from pngan.errors import PnganError

STEM_TOKENS = frozenset({"real", "mean", "fake", "noisy", "gt"})
_SAMPLE_RE = re.compile(r"^(?P<stem>.+)_(?P<k>\d+)$")


class EvalNoiseError(PnganError):
    """Unpairable, missing or inconsistent inputs for ``eval-noise``."""


def pair_stem(path: Path) -> str:
    """Name stem used to pair files: extension and the known role tokens removed."""
    parts = [t for t in path.stem.split("_") if t.lower() not in STEM_TOKENS]
    return "_".join(parts) or path.stem


def _index(folder: Path, role: str) -> dict[str, Path]:
    from pngan.images import list_images

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
        from pngan.images import list_images

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


def _check_size(ref: np.ndarray, img: np.ndarray, ref_path: Path, path: Path | str) -> None:
    if img.shape != ref.shape:
        name = path.name if isinstance(path, Path) else path
        raise EvalNoiseError(f"size mismatch: {ref_path.name} is {ref.shape[1]}x{ref.shape[0]}, "
                             f"{name} is {img.shape[1]}x{img.shape[0]}")


# ---------------------------------------------------------------- figures (PIL only)

from pngan.cli.noise_figures import _FAKE as _FAKE_RGB, _REAL as _REAL_RGB, _font  # noqa: E402 (one style)


def _noise_level_maps(clean: np.ndarray, real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """sqrt of both variance maps, divided by one shared scale (99.5th percentile of both)."""
    import numpy as np

    from pngan.metrics import noise_variance_map

    s_real = np.sqrt(noise_variance_map(real, clean))
    s_fake = np.sqrt(noise_variance_map(fake, clean))
    scale = float(np.percentile(np.concatenate([s_real.ravel(), s_fake.ravel()]), 99.5)) or 1e-6
    return np.clip(s_real / scale, 0, 1), np.clip(s_fake / scale, 0, 1), scale


def comparison_figure(clean: np.ndarray, real: np.ndarray, fake: np.ndarray, title: str) -> np.ndarray:
    """clean | real | fake | real noise level | fake noise level, labelled, as uint8 RGB."""
    import numpy as np

    from PIL import Image, ImageDraw

    from pngan.images import to_uint8

    m_real, m_fake, scale = _noise_level_maps(clean, real, fake)
    panels = [clean, real, fake, m_real, m_fake]
    labels = ["clean", "real noisy", "fake noisy", "real noise level", "fake noise level"]
    h, w = clean.shape[:2]
    gap, head, foot = 4, 28, 22
    canvas = Image.new("RGB", (5 * w + 4 * gap, head + h + foot), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(14)
    for i, (img, label) in enumerate(zip(panels, labels)):
        x0 = i * (w + gap)
        canvas.paste(Image.fromarray(to_uint8(img)), (x0, head))
        draw.text((x0 + 4, 6), label, fill="black", font=font)
    draw.text((4, head + h + 4),
              f"{title}   noise-level maps: per-channel local std (7x7 window), white = {scale * 255:.2f} / 255 "
              f"(shared scale)", fill="black", font=font)
    return np.asarray(canvas)


def histogram_figure(real_noise: np.ndarray, fake_noise: np.ndarray, title: str,
                     width: int = 720, height: int = 420) -> np.ndarray:
    """Overlaid histograms (fraction of values per bin) of real and fake noise on the 0-255 scale.

    One bin per whole 8-bit level (edges at k +/- 0.5), so 8-bit noise shows no comb gaps.
    """
    import numpy as np

    from PIL import Image, ImageDraw

    r, f = real_noise.ravel() * 255.0, fake_noise.ravel() * 255.0
    lim = float(np.ceil(max(np.percentile(np.abs(r), 99.5), np.percentile(np.abs(f), 99.5), 1.0))) + 0.5
    edges = np.arange(-lim, lim + 1e-9, 1.0)
    hr = np.histogram(np.clip(r, -lim, lim), edges)[0] / max(r.size, 1)
    hf = np.histogram(np.clip(f, -lim, lim), edges)[0] / max(f.size, 1)
    top = float(max(hr.max(), hf.max(), 1e-12)) * 1.08

    left, right, upper, lower = 70, 20, 40, 60
    pw, ph = width - left - right, height - upper - lower
    canvas = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(canvas, "RGBA")
    font, small = _font(14), _font(12)

    def px(v: float) -> float:
        return left + (v + lim) / (2 * lim) * pw

    def py(p: float) -> float:
        return upper + ph - p / top * ph

    for hist, rgb in ((hr, _REAL_RGB), (hf, _FAKE_RGB)):  # translucent bars, then outline steps
        for i, p in enumerate(hist):
            if p > 0:
                d.rectangle([px(edges[i]), py(p), px(edges[i + 1]), py(0)], fill=(*rgb, 70))
    for hist, rgb in ((hr, _REAL_RGB), (hf, _FAKE_RGB)):
        pts = [(px(edges[0]), py(0))]
        for i, p in enumerate(hist):
            pts += [(px(edges[i]), py(p)), (px(edges[i + 1]), py(p))]
        pts.append((px(edges[-1]), py(0)))
        d.line(pts, fill=rgb, width=2)

    d.line([(left, upper), (left, upper + ph), (left + pw, upper + ph)], fill="black", width=1)
    step = max(1, int(np.ceil((lim - 0.5) / 4)))
    for v in range(-int(lim - 0.5) // step * step, int(lim - 0.5) + 1, step):
        x = px(v)
        d.line([(x, upper + ph), (x, upper + ph + 5)], fill="black")
        d.text((x, upper + ph + 8), f"{v:d}", fill="black", font=small, anchor="ma")
    for p in np.linspace(0, top / 1.08, 5):
        y = py(p)
        d.line([(left - 5, y), (left, y)], fill="black")
        d.text((left - 8, y), f"{p:.3f}", fill="black", font=small, anchor="rm")
    d.text((left + pw / 2, height - 8), "noise value: noisy - clean (0-255 scale)", fill="black", font=font,
           anchor="md")
    d.text((8, upper - 22), "fraction of values", fill="black", font=font)
    d.text((left + pw / 2, 8), title, fill="black", font=font, anchor="ma")
    lx = left + pw - 150
    for j, (name, rgb, data) in enumerate((("real", _REAL_RGB, r), ("fake", _FAKE_RGB, f))):
        y = upper + 8 + j * 20
        d.rectangle([lx, y, lx + 14, y + 12], fill=rgb)
        d.text((lx + 20, y - 1), f"{name}  std {data.std():.2f}", fill="black", font=small)
    return np.asarray(canvas)


# ---------------------------------------------------------------- command

def run_eval_noise(clean_dir: Path, real_dir: Path, fake_dir: Path | None = None, generator: Path | None = None,
                   samples: int = 1, seed: int = 0, json_path: Path | None = None,
                   figures: Path | None = None) -> dict:
    """Compute AKLD per image and overall; returns the JSON-able result."""
    import numpy as np

    from pngan.atomic import write_text
    from pngan.images import read_image, write_image

    if (fake_dir is None) == (generator is None):
        raise EvalNoiseError("give exactly one source of fakes: --fake DIR or --generator WEIGHTS")
    if samples < 1:
        raise EvalNoiseError(f"--samples must be >= 1, got {samples}")
    pairs = pair_folders(clean_dir, real_dir, fake_dir)
    from pngan.cli.noise_figures import correlation_figure, nlf_figure
    from pngan.generate import sample_seed
    from pngan.metrics import akld_image
    from pngan.metrics.noise_stats import NoiseStats
    from pngan.noise.baselines import GRIDS

    model = None
    if generator is not None:
        from pngan.models import load_model

        model = load_model(None, generator)

    per_image: dict[str, float] = {}
    counts: dict[str, int] = {}
    stats_real, stats_fake = NoiseStats(), NoiseStats()
    awgn = {label: [] for label, _ in GRIDS["gaussian"]}  # reference: AWGN at each level, one sample per image
    width = max(len(s) for s, *_ in pairs)
    for stem, clean_p, real_p, fake_ps in pairs:
        clean, real = read_image(clean_p), read_image(real_p)
        _check_size(clean, real, clean_p, real_p)
        if model is not None:
            from pngan.generate import generate

            # as DANet's demo_AKLD.py: each sample clamped to [0, 1] right after generation
            fakes = [np.clip(generate(model, clean, sample_seed(seed, clean_p.name, k)), 0.0, 1.0) for k in range(samples)]
            for k, fk in enumerate(fakes):
                _check_size(clean, fk, clean_p, f"generated sample {k}")
        else:
            fakes = []
            for p in fake_ps:
                fk = read_image(p)
                _check_size(clean, fk, clean_p, p)
                fakes.append(fk)
        per_image[stem] = akld_image(clean, real, fakes)
        counts[stem] = len(fakes)
        stats_real.add(clean, real)
        for fk in fakes:
            stats_fake.add(clean, fk)
        for label, fn in GRIDS["gaussian"]:
            ref = fn(clean, np.random.default_rng(sample_seed(seed, clean_p.name, 0)))  # AWGN's AKLD barely varies
            awgn[label].append(akld_image(clean, real, [ref]))
        click.echo(f"{stem:<{width}s}  AKLD {per_image[stem]:.4f}  ({len(fakes)} sample{'s' * (len(fakes) > 1)})")
        if figures is not None:
            write_image(figures / f"{stem}_compare.png",
                        comparison_figure(clean, real, fakes[0], f"{stem}: AKLD {per_image[stem]:.4f}"))
            fake_noise = np.concatenate([(fk - clean).ravel() for fk in fakes])
            write_image(figures / f"{stem}_hist.png",
                        histogram_figure(real - clean, fake_noise, f"{stem}: noise histogram, real vs fake"))

    mean = float(np.mean(list(per_image.values())))
    n_samples = set(counts.values())
    best_label, best_scores = min(awgn.items(), key=lambda kv: np.mean(kv[1]))
    real_s, fake_s = stats_real.summary(), stats_fake.summary()
    result = {"akld": mean, "per_image": per_image,
              "samples": n_samples.pop() if len(n_samples) == 1 else counts,
              "reference_awgn": {"level": best_label, "akld": float(np.mean(best_scores)),
                                 "per_image": dict(zip(per_image, best_scores)),
                                 "note": "best AWGN level on these very images (an oracle), 1 sample per image"},
              "stats": {"real": real_s, "fake": fake_s}}
    click.echo(f"{'mean':<{width}s}  AKLD {mean:.4f}  over {len(per_image)} image{'s' * (len(per_image) > 1)}")
    click.echo(f"{'reference':<{width}s}  AKLD {np.mean(best_scores):.4f}  AWGN at its best level on these images "
               f"({best_label}, 1 sample per image)")
    lag1 = [np.mean(s["autocorrelation"]["dy0_dx1"] + s["autocorrelation"]["dy1_dx0"]) for s in (real_s, fake_s)]
    click.echo(f"noise std R,G,B (0-255): real {', '.join(f'{v:.2f}' for v in real_s['std'])}; "
               f"fake {', '.join(f'{v:.2f}' for v in fake_s['std'])}; lag-1 autocorrelation: real {lag1[0]:.3f}, "
               f"fake {lag1[1]:.3f}; R-G correlation: real {real_s['between_channels']['RG']:.3f}, "
               f"fake {fake_s['between_channels']['RG']:.3f}")
    if json_path is not None:
        write_text(json_path, json.dumps(result, indent=2) + "\n")
        click.echo(f"wrote {json_path}")
    if figures is not None:
        write_image(figures / "noise_level_function.png",
                    nlf_figure(real_s["nlf"], fake_s["nlf"], "noise level function: real vs fake, all images"))
        write_image(figures / "noise_correlation.png",
                    correlation_figure(real_s, fake_s, "noise correlation: real vs fake, all images"))
        click.echo(f"wrote figures to {figures}")
    return result


@click.command("eval-noise")
@click.option("--pairs", "pairs_dir", type=click.Path(path_type=Path), default=None,
              help="A paired folder (input/ + groundtruth/, noisy/ + clean/, ...) instead of --clean and --real.")
@click.option("--clean", "clean_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of clean (ground-truth) images.")
@click.option("--real", "real_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of real noisy images, paired with --clean by name stem.")
@click.option("--fake", "fake_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of generated noisy images: <stem>.png or <stem>_<k>.png per image.")
@click.option("--generator", type=click.Path(path_type=Path), default=None,
              help="Generator weights (.safetensors) to sample fakes from instead of --fake.")
@click.option("--samples", type=int, default=1, show_default=True,
              help="Fakes per image with --generator (DANet uses 50).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Run seed with --generator; sample k of image F uses the seed derived from (S, F, k).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write {akld, per_image, samples, reference_awgn, stats (NLF, correlations)} to this JSON file.")
@click.option("--figures", type=click.Path(path_type=Path), default=None,
              help="Folder for per-image comparison and histogram PNGs, the noise level function and correlations.")
def eval_noise(pairs_dir: Path | None, clean_dir: Path | None, real_dir: Path | None, fake_dir: Path | None,
               generator: Path | None, samples: int, seed: int, json_path: Path | None, figures: Path | None) -> None:
    """AKLD (DANet's noise-realism metric, lower is better) of fake vs real noisy images."""
    def job() -> None:
        nonlocal clean_dir, real_dir
        given = (clean_dir is not None, real_dir is not None)
        if given != ((False, False) if pairs_dir is not None else (True, True)):
            raise EvalNoiseError("give --pairs DIR, or both --clean DIR and --real DIR")
        if pairs_dir is not None:
            from pngan.data.pairs import find_layout

            real_dir, clean_dir = find_layout(pairs_dir)
        run_eval_noise(clean_dir, real_dir, fake_dir, generator, samples, seed, json_path, figures)

    run_cli(job)
