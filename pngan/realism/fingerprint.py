"""A camera's noise fingerprint: noise level function, correlation in space and across channels, spectrum tilt,
8x8 blockiness; from noisy photos alone (:func:`estimate_fingerprint`) or from noisy/clean pairs
(:func:`fingerprint_from_pairs`, the residual ``noisy - clean``, for validation), compared by :func:`compare`.

All levels are noise standard deviations on the 0-255 scale. The noise level function (NLF) has ``BINS``
intensity bins over [0, 1] per channel R, G, B; a bin without enough measurements is ``None``. The estimator
is in :mod:`pngan.realism.fingerprint_estimate`; the pair side uses :mod:`pngan.metrics.noise_stats` and
:mod:`pngan.metrics.noise_texture`. A JSON file holds ``format`` and ``version``; another version is refused.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pngan.errors import PnganError, PnganWarning
from pngan.realism.fingerprint_estimate import (BINS, HIGH_BAND, LOW_BAND, MIN_BIN_PATCHES, NO_NOISE, PATCH,
                                                TEXTURE_PHOTO, FingerprintError, ImageNoise, measure_image)

FORMAT, VERSION = "pngan-noise-fingerprint", 1
CHANNEL_PAIRS = ("RG", "RB", "GB")


@dataclass(frozen=True)
class NoiseFingerprint:
    """The noise of a set of photos (see the module docstring); ``source`` is ``"noisy"`` or ``"pairs"``."""

    intensity: tuple[float, ...]  # bin centres in [0, 1]
    nlf: tuple[tuple[float | None, float | None, float | None], ...]  # per bin: R, G, B std (0-255)
    std: tuple[float, float, float]  # overall per channel (0-255)
    lag1: float  # mean of the horizontal and vertical lag-1 autocorrelation
    between_channels: tuple[float, float, float]  # correlation of RG, RB, GB at lag 0
    spectrum_tilt_db: float  # mean power in HIGH_BAND over LOW_BAND, dB (0 for white noise)
    blockiness: float  # squared differences across 8x8 block edges over inside (1: no JPEG grid)
    images: int  # photos (or pairs) measured
    source: str = "noisy"
    left_out: tuple[str, ...] = ()  # photos without a flat area, left out (see :func:`pool`)
    version: int = field(default=VERSION)

    @property
    def colour_correlation(self) -> float:
        """Mean of the RG, RB and GB correlations."""
        return float(np.mean(self.between_channels))


def _r(v: float, digits: int = 4) -> float:
    return round(float(v), digits)


def _centres() -> tuple[float, ...]:
    return tuple(_r((b + 0.5) / BINS) for b in range(BINS))


def fill_missing_bins(bin_var: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``bin_var`` (BINS, 3) with each missing bin taken from the nearest measured bin of its channel."""
    out = bin_var.copy()
    for c in range(3):
        ok = np.flatnonzero(np.isfinite(bin_var[:, c]))
        for b in np.flatnonzero(~np.isfinite(bin_var[:, c])):
            out[b, c] = bin_var[ok[np.argmin(np.abs(ok - b))], c] if ok.size else fallback[c]
    return out


def textured_photos(measured: Sequence[ImageNoise]) -> list[int]:
    """Indices of the photos without a flat area: their flattest patches have ``TEXTURE_PHOTO`` times the
    low-band power (over high-band) of the photos' median, so their "noise" is texture (three photos or more)."""
    if len(measured) < 3:
        return []
    ref = np.array([m.shape_reference for m in measured])
    return [i for i in np.flatnonzero(ref > TEXTURE_PHOTO * np.median(ref)).tolist()]


def pool(measured: Sequence[ImageNoise]) -> NoiseFingerprint:
    """One fingerprint from per-photo measurements: each bin's variance is the photos' own, weighted by their
    pixels in that bin (as a pooled residual weighs them; a photo with pixels but no measurement in a bin counts
    with its nearest measured bin); a bin with under ``MIN_BIN_PATCHES`` measured patches in all is missing.
    Lag-1, correlations, tilt and blockiness are averaged over the photos. Photos without a flat area
    (:func:`textured_photos`) are left out, with a warning."""
    if not measured:
        raise FingerprintError("no photos to measure")
    out = textured_photos(measured)
    for i in out:
        warnings.warn(PnganWarning(f"{measured[i].name}: left out of the noise fingerprint: no flat area (its "
                                   f"flattest patches look like texture)"), stacklevel=2)
    names = tuple(measured[i].name for i in out)
    measured = [m for i, m in enumerate(measured) if i not in out]
    filled = [fill_missing_bins(m.bin_var, m.level) * m.pixels for m in measured]
    pixels = sum(m.pixels for m in measured)
    count = sum(m.bin_count for m in measured)
    with np.errstate(invalid="ignore", divide="ignore"):
        nlf = np.where((count >= MIN_BIN_PATCHES) & (pixels > 0), np.sqrt(sum(filled) / pixels), np.nan)
    std = np.sqrt(sum(f.sum(0) for f in filled) / pixels.sum(0))
    rows = tuple(tuple(None if not np.isfinite(v) else _r(v, 3) for v in row) for row in nlf)
    return NoiseFingerprint(_centres(), rows, tuple(_r(v, 3) for v in std),
                            _r(np.mean([m.lag1 for m in measured])),
                            tuple(_r(v) for v in np.mean([m.between_channels for m in measured], 0)),
                            _r(np.mean([m.tilt_db for m in measured]), 3),
                            _r(np.mean([m.blockiness for m in measured])), len(measured), left_out=names)


def noisy_photos(folder: Path) -> tuple[list[Path], Path]:
    """``(the noisy photos of a folder, the folder they are in)``: its images, or the noisy half of a paired
    folder (``pngan.data``, which imports torch, only then); a folder with neither: ``list_images`` says so."""
    from pngan.io.images import IMAGE_SUFFIXES, list_images

    if any(f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES for f in folder.iterdir()):
        return list_images(folder), folder
    from pngan.data.pairs import LAYOUTS, find_layout

    if any((folder / n).is_dir() and (folder / c).is_dir() for n, c in LAYOUTS):
        half = find_layout(folder)[0]
        return list_images(half), half
    return list_images(folder), folder  # no images: list_images says so


def estimate_fingerprint(images: Iterable[np.ndarray], names: Sequence[str] | None = None) -> NoiseFingerprint:
    """The fingerprint of noisy photos alone (each float (H, W, 3) in [0, 1]; an iterator is read once).

    ``FingerprintError`` for a photo smaller than the estimator's patch, one saturated almost everywhere, or
    a set with no measurable noise (pooled green std below ``NO_NOISE``).
    """
    measured = [measure_image(img, names[i] if names is not None else f"image {i + 1}")
                for i, img in enumerate(images)]
    fp = pool(measured)
    if fp.std[1] < NO_NOISE:
        raise FingerprintError(f"no measurable noise in {fp.images} photo(s): green std {fp.std[1]:.2f} on "
                               f"0-255 in the flattest {PATCH}x{PATCH} patches (below {NO_NOISE}); clean or "
                               "denoised photos have no noise fingerprint")
    return fp


def _tilt(power_db: list[list[float | None]], frequency: list[float]) -> float:
    """Mean dB (over channels) of the spectrum rings in HIGH_BAND minus those in LOW_BAND."""
    db = np.array([[np.nan if v is None else v for v in row] for row in power_db], float).mean(1)
    f = np.asarray(frequency)
    band = [np.nanmean(db[(f >= lo) & (f < hi)]) for lo, hi in (HIGH_BAND, LOW_BAND)]
    return _r(band[0] - band[1], 3)


def fingerprint_from_pairs(pairs: Iterable) -> NoiseFingerprint:
    """The same quantities measured on ``noisy - clean`` of pairs (``pngan.data.find_pairs`` items), by
    :class:`~pngan.metrics.noise_stats.NoiseStats` (NLF, std) and :class:`~pngan.metrics.noise_texture.NoiseTexture`
    (lag-1, channel correlation, spectrum, blockiness): the truth an estimate is compared with."""
    from pngan.data.pairs import check_pair_sizes
    from pngan.io.images import read_image
    from pngan.metrics.noise_stats import NoiseStats
    from pngan.metrics.noise_texture import NoiseTexture

    texture, levels = NoiseTexture(), NoiseStats(bins=BINS, lags=())
    for pair in pairs:
        noisy, clean = read_image(pair.noisy), read_image(pair.clean)
        check_pair_sizes(noisy, clean, pair)
        texture.add(clean, noisy)
        levels.add(clean, noisy)
    if texture.images == 0:
        raise FingerprintError("no pairs to measure")
    s, lv = texture.summary(), levels.summary()
    return NoiseFingerprint(_centres(), tuple(tuple(row) for row in lv["nlf"]["std"]), tuple(lv["std"]),
                            _r(s["lag1"]), tuple(_r(s["between_channels"][k]) for k in CHANNEL_PAIRS),
                            _tilt(s["spectrum"]["power_db"], s["spectrum"]["frequency"]), _r(s["blockiness"]),
                            texture.images, "pairs")


def to_json(fp: NoiseFingerprint) -> str:
    """The fingerprint as JSON text (``format``, ``version`` first)."""
    d = asdict(fp)
    d.pop("version")
    d["between_channels"] = dict(zip(CHANNEL_PAIRS, fp.between_channels))
    d["colour_correlation"] = _r(fp.colour_correlation)
    d["nlf"] = [list(row) for row in fp.nlf]
    d["left_out"] = list(fp.left_out)
    return json.dumps({"format": FORMAT, "version": fp.version, **d}, indent=1) + "\n"


def from_json(text: str) -> NoiseFingerprint:
    """A fingerprint from :func:`to_json` text; ``PnganError`` for another format or version."""
    try:
        d = json.loads(text)
    except ValueError as e:
        raise PnganError(f"not a noise fingerprint JSON ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise PnganError(f"not a noise fingerprint JSON (no \"format\": \"{FORMAT}\")")
    if d.get("version") != VERSION:
        raise PnganError(f"noise fingerprint JSON version {d.get('version')!r}; this pngan reads version {VERSION}")
    try:
        return NoiseFingerprint(
            tuple(d["intensity"]), tuple(tuple(row) for row in d["nlf"]), tuple(d["std"]), d["lag1"],
            tuple(d["between_channels"][k] for k in CHANNEL_PAIRS), d["spectrum_tilt_db"], d["blockiness"],
            d["images"], d["source"], tuple(d.get("left_out", ())), d["version"])
    except (KeyError, TypeError) as e:
        raise PnganError(f"noise fingerprint JSON version {VERSION} is missing or garbles {e}") from None


def _relative(est: float | None, truth: float | None) -> float | None:
    if est is None or truth is None or truth <= 0:
        return None
    return _r((est - truth) / truth)


def compare(est: NoiseFingerprint, truth: NoiseFingerprint) -> dict:
    """How far ``est`` is from ``truth``: relative NLF error per bin and channel (``None`` where either is
    missing), its mean absolute value per channel, relative std error, absolute lag-1, channel-correlation
    and tilt differences, blockiness ratio."""
    if est.intensity != truth.intensity:
        raise PnganError("fingerprints with different intensity bins cannot be compared")
    per_bin = [[_relative(e, t) for e, t in zip(er, tr)] for er, tr in zip(est.nlf, truth.nlf)]
    mean_abs = []
    for c in range(3):
        vals = [abs(row[c]) for row in per_bin if row[c] is not None]
        mean_abs.append(_r(np.mean(vals)) if vals else None)
    return {
        "nlf_relative_error": per_bin,
        "nlf_mean_abs_relative_error": mean_abs,
        "bins_compared": [sum(row[c] is not None for row in per_bin) for c in range(3)],
        "std_relative_error": [_relative(e, t) for e, t in zip(est.std, truth.std)],
        "lag1_abs_difference": _r(abs(est.lag1 - truth.lag1)),
        "between_channels_abs_difference": [_r(abs(e - t)) for e, t in zip(est.between_channels,
                                                                           truth.between_channels)],
        "colour_correlation_abs_difference": _r(abs(est.colour_correlation - truth.colour_correlation)),
        "spectrum_tilt_db_difference": _r(est.spectrum_tilt_db - truth.spectrum_tilt_db, 3),
        "blockiness_ratio": _r(est.blockiness / truth.blockiness) if truth.blockiness > 0 else None,
    }


_COLOURS = ((214, 39, 40), (44, 160, 44), (31, 119, 180))


def nlf_figure(fp: NoiseFingerprint, truth: NoiseFingerprint | None = None) -> np.ndarray:
    """(H, W, 3) uint8: noise std against intensity per channel; the estimate solid, pair truth dashed."""
    from pngan.realism.figures import nlf_plot

    title = (f"noise level function, {fp.images} photo(s), from the {fp.source} photos"
             + (" (solid) and from noisy - clean (dashed)" if truth is not None else ""))
    series = [(f.intensity, f.nlf, _COLOURS, dashed) for f, dashed in ((fp, False), (truth, True)) if f is not None]
    return nlf_plot(series, title, "intensity (0-255)", "R, G, B; a missing point: too few measurements in that bin",
                    headroom=1.15, dot=3)


def _cells(values: Sequence, fmt: str, width: int = 7) -> str:
    return "".join(f"{'-' if v is None else format(v, fmt):>{width}s}" for v in values)


def _bin_label(b: int) -> str:
    return f"intensity {-(-b * 256 // BINS):>3d}-{-(-(b + 1) * 256 // BINS) - 1:<3d}"


def summary_lines(fp: NoiseFingerprint, truth: NoiseFingerprint | None = None) -> list[str]:
    """The terminal table: NLF per bin and channel, overall std, lag-1, channel correlation, tilt, blockiness;
    with ``truth`` (pairs) its values and the errors (NLF and std in %) beside the estimate."""
    cmp = compare(fp, truth) if truth is not None else None
    head = f"{'noise std (0-255)':<18s}{'R':>7s}{'G':>7s}{'B':>7s}"
    if truth is not None:
        head += f"   {'pairs R':>7s}{'G':>7s}{'B':>7s}   {'error% R':>8s}{'G':>6s}{'B':>7s}"
    lines = [head]
    rows = [(_bin_label(b), fp.nlf[b], None if truth is None else truth.nlf[b],
             None if cmp is None else cmp["nlf_relative_error"][b]) for b in range(BINS)]
    rows.append(("overall", fp.std, None if truth is None else truth.std,
                 None if cmp is None else cmp["std_relative_error"]))
    for label, est, tru, err in rows:
        line = f"{label:<18s}{_cells(est, '.2f')}"
        if truth is not None:
            line += f"   {_cells(tru, '.2f')}   {_cells([None if e is None else 100 * e for e in err], '+.0f')}"
        lines.append(line)
    for label, get, fmt in (("lag-1", lambda f: f.lag1, ".3f"),
                            ("colour corr RG", lambda f: f.between_channels[0], ".3f"),
                            ("colour corr RB", lambda f: f.between_channels[1], ".3f"),
                            ("colour corr GB", lambda f: f.between_channels[2], ".3f"),
                            ("spectrum tilt dB", lambda f: f.spectrum_tilt_db, ".2f"),
                            ("8x8 blockiness", lambda f: f.blockiness, ".3f")):
        line = f"{label:<18s}{format(get(fp), fmt):>7s}"
        if truth is not None:
            line += f"{'':14s}   {format(get(truth), fmt):>7s}{'':14s}   {format(get(fp) - get(truth), '+' + fmt):>7s}"
        lines.append(line)
    return lines
