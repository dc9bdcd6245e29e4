"""Figures of a :class:`~pngan.realism.report.NoiseReport` (PIL only), each readable in seconds.

``crops.png`` (clean | real, fake, AWGN noise x8), ``spectrum.png`` (radial power spectra),
``autocorrelation.png`` (7x7 maps), ``noise_level_function.png`` (per camera), ``histogram.png``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

_REAL, _FAKE, _REF = (31, 119, 180), (255, 127, 14), (120, 120, 120)
_CHANNEL_SHADE = (1.0, 0.75, 0.5)  # R, G, B drawn darker to lighter
AMPLIFY, ZOOM = 8.0, 2  # noise shown as 0.5 + 8 x (noisy - clean); crops enlarged 2x (nearest)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _shade(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(v * f + 255 * (1 - f)) for v in rgb)


def _axes(width: int, height: int, xr: tuple[float, float], yr: tuple[float, float], xlabel: str, ylabel: str,
          title: str, xticks: Sequence[tuple[float, str]], yticks: Sequence[tuple[float, str]]):
    """A white canvas with labelled axes: ``(image, draw, to_pixel(x, y))``."""
    from PIL import Image, ImageDraw

    left, right, upper, lower = 64, 16, 40, 50
    pw, ph = width - left - right, height - upper - lower
    canvas = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(canvas, "RGBA")
    font, small = _font(13), _font(11)

    def pt(x: float, y: float) -> tuple[float, float]:
        return (left + (x - xr[0]) / (xr[1] - xr[0]) * pw,
                upper + ph - (min(max(y, yr[0]), yr[1]) - yr[0]) / (yr[1] - yr[0]) * ph)

    d.line([(left, upper), (left, upper + ph), (left + pw, upper + ph)], fill="black")
    for v, lab in xticks:
        x, y = pt(v, yr[0])
        d.line([(x, y), (x, y + 5)], fill="black")
        d.text((x, y + 7), lab, fill="black", font=small, anchor="ma")
    for v, lab in yticks:
        x, y = pt(xr[0], v)
        d.line([(x - 5, y), (x, y)], fill="black")
        d.text((x - 7, y), lab, fill="black", font=small, anchor="rm")
    d.text((left + pw / 2, height - 6), xlabel, fill="black", font=font, anchor="md")
    d.text((6, upper - 20), ylabel, fill="black", font=font)
    d.text((left + pw / 2, 6), title, fill="black", font=font, anchor="ma")
    return canvas, d, pt


def _polyline(d, pts: list[tuple[float, float]], col, dashed: bool = False, width: int = 2) -> None:
    if not dashed:
        d.line(pts, fill=col, width=width)
        return
    for a, b in zip(pts, pts[1:]):
        for t in np.arange(0, 1, 0.25):
            d.line([(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t),
                    (a[0] + (b[0] - a[0]) * (t + 0.14), a[1] + (b[1] - a[1]) * (t + 0.14))], fill=col, width=width)


def _legend(d, x: float, y: float, items: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
    for j, (name, rgb) in enumerate(items):
        d.rectangle([x, y + j * 17, x + 12, y + j * 17 + 10], fill=rgb)
        d.text((x + 18, y + j * 17 - 1), name, fill="black", font=_font(11))


def _ticks(lo: float, hi: float, n: int = 5, fmt: Callable[[float], str] = lambda v: f"{v:g}"):
    return [(v, fmt(v)) for v in np.linspace(lo, hi, n)]


def _nice_ticks(lo: float, hi: float, fmt: Callable[[float], str], n: int = 6):
    """Ticks at round steps (1, 2 or 5 x 10^k) inside [lo, hi]."""
    raw = (hi - lo) / n
    step = min((m * 10 ** np.floor(np.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    return [(v, fmt(v)) for v in np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)]


def nlf_plot(series: Sequence[tuple[Sequence[float], Sequence[Sequence[float | None]], Sequence[tuple], bool]],
             title: str, x_label: str, legend: str, *, width: int = 720, height: int = 420, headroom: float = 1.1,
             dot: int = 2) -> np.ndarray:
    """Noise std (0-255) against intensity per channel: one ``(intensity, std rows, 3 colours, dashed)`` per series,
    a missing value (``None``) drawn as no point."""
    vals = [v for _, rows, _, _ in series for row in rows for v in row if v is not None]
    top = max(vals + [1.0]) * headroom
    canvas, d, pt = _axes(width, height, (0, 1), (0, top), x_label, "noise std (0-255)", title,
                          [(v, f"{v * 255:.0f}") for v in np.linspace(0, 1, 6)],
                          _nice_ticks(0, top, lambda v: f"{v:g}", 5))
    for xs, rows, colours, dashed in series:
        for c, col in enumerate(colours):
            pts = [pt(x, row[c]) for x, row in zip(xs, rows) if row[c] is not None]
            if len(pts) > 1:
                _polyline(d, pts, col, dashed)
            for p in pts:
                d.ellipse([p[0] - dot, p[1] - dot, p[0] + dot, p[1] + dot], fill=col)
    d.text((72, 44), legend, fill="black", font=_font(11))
    return np.asarray(canvas)


def nlf_figure(real: dict, fake: dict, title: str, width: int = 720, height: int = 420) -> np.ndarray:
    """Noise std against clean intensity per channel: real solid, fake dashed."""
    shades = [[_shade(rgb, s) for s in _CHANNEL_SHADE] for rgb in (_REAL, _FAKE)]
    return nlf_plot([(real["intensity"], real["std"], shades[0], False),
                     (real["intensity"], fake["std"], shades[1], True)], title, "clean intensity (0-255)",
                    "real: solid   fake: dashed   R, G, B dark to light", width=width, height=height)


def nlf_panels(real: dict, fake: dict, columns: int = 3) -> np.ndarray:
    """One NLF panel per group (camera) of the summaries' ``nlf_per_group``; all images if not 2-12 groups."""
    from PIL import Image

    groups = [g for g in real["nlf_per_group"] if g in fake["nlf_per_group"]]
    if not 2 <= len(groups) <= 12:
        return nlf_figure(real["nlf"], fake["nlf"], "noise level function, all images: real vs fake")
    panels = [nlf_figure(real["nlf_per_group"][g], fake["nlf_per_group"][g], f"{g}: real vs fake", 440, 300)
              for g in groups]
    cols = min(columns, len(panels))
    rows = -(-len(panels) // cols)
    h, w = panels[0].shape[:2]
    canvas = Image.new("RGB", (cols * w, rows * h), "white")
    for i, p in enumerate(panels):
        canvas.paste(Image.fromarray(p), ((i % cols) * w, (i // cols) * h))
    return np.asarray(canvas)


def crops_figure(crops: Sequence[tuple]) -> np.ndarray:
    """Per image one row: clean | real noise x8 | fake noise x8 | AWGN reference noise x8."""
    from PIL import Image, ImageDraw

    from pngan.io.images import to_uint8

    labels = ["clean", f"real noise x{AMPLIFY:g}", f"fake noise x{AMPLIFY:g}", f"AWGN ref noise x{AMPLIFY:g}"]
    ph, pw = (max(c[1].shape[i] for c in crops) * ZOOM for i in (0, 1))
    gap, head, cap = 4, 22, 16
    canvas = Image.new("RGB", (4 * pw + 3 * gap, head + len(crops) * (cap + ph + gap)), "white")
    d = ImageDraw.Draw(canvas)
    font = _font(13)
    for i, lab in enumerate(labels):
        d.text((i * (pw + gap) + 4, 4), lab, fill="black", font=font)
    for r, (stem, clean, *noisy) in enumerate(crops):
        y = head + r * (cap + ph + gap)
        d.text((4, y + 1), stem, fill="black", font=_font(11))
        panels = [clean] + [0.5 + AMPLIFY * (n - clean) for n in noisy]
        for i, p in enumerate(panels):
            img = Image.fromarray(to_uint8(np.clip(p, 0, 1)))
            canvas.paste(img.resize((img.width * ZOOM, img.height * ZOOM), Image.NEAREST), (i * (pw + gap), y + cap))
    return np.asarray(canvas)


def spectrum_figure(stats: dict, distances: dict, width: int = 720, height: int = 420) -> np.ndarray:
    """Radial noise power spectra (mean of R, G, B in dB): real, fake, AWGN reference."""
    freq = np.asarray(stats["real"]["spectrum"]["frequency"])

    def curve(k: str) -> np.ndarray:
        a = np.array([[np.nan if v is None else v for v in row] for row in stats[k]["spectrum"]["power_db"]])
        return a.mean(axis=1)

    curves = {k: curve(k) for k in ("real", "fake", "reference_awgn")}
    vals = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    lo, hi = float(np.floor(vals.min() / 5) * 5), float(np.ceil(vals.max() / 5) * 5 + 1e-9)
    hi = hi if hi > lo else lo + 5
    canvas, d, pt = _axes(width, height, (0, 0.72), (lo, hi), "radial frequency (cycles/pixel; 0.5 = Nyquist, "
                          "0.71 = corner)", "noise power (dB, 0-255 scale)",
                          "radially averaged noise power spectrum, mean of R, G, B",
                          _ticks(0, 0.7, 8, lambda v: f"{v:.1f}"), _nice_ticks(lo, hi, lambda v: f"{v:.0f}"))
    for k, col, dashed in (("reference_awgn", _REF, True), ("real", _REAL, False), ("fake", _FAKE, False)):
        ok = np.isfinite(curves[k])
        pts = [pt(f, v) for f, v in zip(freq[ok], curves[k][ok])]
        if len(pts) > 1:
            _polyline(d, pts, col, dashed)
        for p in pts:
            d.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=col)
    _legend(d, width - 250, 48, [(f"real (falls {stats['real']['spectrum']['drop_db']:.1f} dB)", _REAL),
                                 (f"fake: distance {distances['fake']:.2f} dB", _FAKE),
                                 (f"AWGN ref: distance {distances['reference_awgn']:.2f} dB", _REF)])
    return np.asarray(canvas)


def autocorrelation_figure(stats: dict, cell: int = 38) -> np.ndarray:
    """7x7 autocorrelation maps (mean of R, G, B), real | fake | AWGN reference, values in the cells."""
    from PIL import Image, ImageDraw

    names = (("real", "real"), ("fake", "fake"), ("reference_awgn", "AWGN ref"))
    k = len(stats["real"]["autocorrelation"]["lags"])
    side, gap, head, foot = k * cell, 30, 44, 56
    canvas = Image.new("RGB", (3 * side + 4 * gap, head + side + foot), "white")
    d = ImageDraw.Draw(canvas)
    font, small = _font(13), _font(10)
    d.text((canvas.width / 2, 4), "noise autocorrelation at lags |dy|, |dx| <= 3 (mean of R, G, B; centre = 1)",
           fill="black", font=font, anchor="ma")
    for i, (key, label) in enumerate(names):
        s = stats[key]
        m = np.mean(np.asarray(s["autocorrelation"]["map"], float), axis=0)
        x0 = gap + i * (side + gap)
        d.text((x0 + side / 2, head - 18), label, fill="black", font=font, anchor="ma")
        for dy in range(k):
            for dx in range(k):
                v = float(np.clip(m[dy, dx], -1, 1))
                col = (255, int(255 * (1 - v)), int(255 * (1 - v))) if v >= 0 else \
                    (int(255 * (1 + v)), int(255 * (1 + v)), 255)
                box = [x0 + dx * cell, head + dy * cell, x0 + (dx + 1) * cell - 1, head + (dy + 1) * cell - 1]
                d.rectangle(box, fill=col)
                d.text((box[0] + cell / 2, box[1] + cell / 2), f"{m[dy, dx]:.2f}", anchor="mm", font=small,
                       fill="white" if abs(v) > 0.6 else "black")
        bc = s["between_channels"]
        d.text((x0, head + side + 6), f"lag-1 {s['lag1']:.3f}   8x8 blockiness {s['blockiness']:.2f}",
               fill="black", font=small)
        d.text((x0, head + side + 22), f"between channels RG {bc['RG']:.2f} RB {bc['RB']:.2f} GB {bc['GB']:.2f}",
               fill="black", font=small)
        d.text((x0, head + side + 38), "rows dy = -3..3, columns dx = -3..3", fill="gray", font=small)
    return np.asarray(canvas)


def histogram_figure(hists: dict, kld: dict, width: int = 720, height: int = 420) -> np.ndarray:
    """Noise histograms per 8-bit level (mean over images) of real, fake and AWGN reference.

    Drawn per level, not in the 256 bins over [-1, 1] of the KLD (whose bin at 0 holds two levels).
    """
    levels = np.arange(-255, 256)
    mass = sum(hists.values()) / len(hists)
    inside = np.flatnonzero(mass > 0.0005 * mass.max())
    lim = float(max(np.abs(levels[inside]).max(), 2)) + 1
    top = max(float(h.max()) for h in hists.values()) * 1.08
    canvas, d, pt = _axes(width, height, (-lim, lim), (0, top), "noise value: noisy - clean (0-255 scale)",
                          "fraction of values", "noise histogram per 8-bit level, mean over images",
                          _nice_ticks(-lim, lim, lambda v: f"{v:.0f}"), _ticks(0, top / 1.08, 5, lambda v: f"{v:.3f}"))
    ok = np.abs(levels) <= lim
    for key, col, dashed in (("reference_awgn", _REF, True), ("real", _REAL, False), ("fake", _FAKE, False)):
        _polyline(d, [pt(x, v) for x, v in zip(levels[ok], hists[key][ok])], col, dashed)
    _legend(d, width - 250, 48, [("real", _REAL), (f"fake: hist KLD {kld['fake']:.3f}", _FAKE),
                                 (f"AWGN ref: hist KLD {kld['reference_awgn']:.3f}", _REF)])
    return np.asarray(canvas)


def report_figures(r: "NoiseReport") -> dict[str, np.ndarray]:  # noqa: F821  (pngan.realism.report's; not imported)
    """All figures of a report, by file name (nothing is written here)."""
    out = {"spectrum.png": spectrum_figure(r.stats, {"fake": r.texture["spectrum_db"],
                                                     "reference_awgn": r.reference["spectrum_db"]}),
           "autocorrelation.png": autocorrelation_figure(r.stats),
           "noise_level_function.png": nlf_panels(r.stats["real"], r.stats["fake"])}
    if r.histograms:
        out["histogram.png"] = histogram_figure(r.histograms, {"fake": r.texture["hist_kld"],
                                                               "reference_awgn": r.reference["hist_kld"]})
    if r.crops:
        out["crops.png"] = crops_figure(r.crops)
    return out
