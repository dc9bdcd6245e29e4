"""Figures of noise statistics (PIL only): noise level function and spatial/channel correlation, real vs fake."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_REAL, _FAKE = (31, 119, 180), (255, 127, 14)
_CHANNEL_SHADE = (1.0, 0.75, 0.5)  # R, G, B drawn darker to lighter


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _shade(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(v * f + 255 * (1 - f)) for v in rgb)


def nlf_figure(real: dict, fake: dict, title: str, width: int = 720, height: int = 420) -> np.ndarray:
    """Noise std against clean intensity per channel: real solid, fake dashed."""
    import numpy as np
    from PIL import Image, ImageDraw

    xs = real["intensity"]
    vals = [v for s in (real, fake) for row in s["std"] for v in row if v is not None]
    top = max(vals + [1.0]) * 1.1
    left, right, upper, lower = 70, 20, 40, 60
    pw, ph = width - left - right, height - upper - lower
    canvas = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(canvas)
    font, small = _font(14), _font(12)

    def pt(x: float, y: float) -> tuple[float, float]:
        return left + x * pw, upper + ph - y / top * ph

    for stats, rgb, dotted in ((real, _REAL, False), (fake, _FAKE, True)):
        for c in range(3):
            col = _shade(rgb, _CHANNEL_SHADE[c])
            pts = [pt(x, row[c]) for x, row in zip(xs, stats["std"]) if row[c] is not None]
            if len(pts) > 1 and not dotted:
                d.line(pts, fill=col, width=2)
            for p in pts:
                r = 3 if dotted else 2
                d.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=col)
            if dotted and len(pts) > 1:
                for a, b in zip(pts, pts[1:]):
                    for t in np.linspace(0, 1, 8)[::2]:
                        x0, y0 = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
                        x1, y1 = a[0] + (b[0] - a[0]) * (t + 1 / 7), a[1] + (b[1] - a[1]) * (t + 1 / 7)
                        d.line([(x0, y0), (x1, y1)], fill=col, width=2)
    d.line([(left, upper), (left, upper + ph), (left + pw, upper + ph)], fill="black")
    for v in np.linspace(0, 1, 6):
        x, y = pt(v, 0)
        d.line([(x, y), (x, y + 5)], fill="black")
        d.text((x, y + 8), f"{v * 255:.0f}", fill="black", font=small, anchor="ma")
    for v in np.linspace(0, top / 1.1, 5):
        x, y = pt(0, v)
        d.line([(x - 5, y), (x, y)], fill="black")
        d.text((x - 8, y), f"{v:.1f}", fill="black", font=small, anchor="rm")
    d.text((left + pw / 2, height - 8), "clean intensity (0-255)", fill="black", font=font, anchor="md")
    d.text((8, upper - 22), "noise std (0-255)", fill="black", font=font)
    d.text((left + pw / 2, 8), title, fill="black", font=font, anchor="ma")
    d.text((left + 10, upper + 4), "real: solid   fake: dashed   channels R, G, B dark to light",
           fill="black", font=small)
    return np.asarray(canvas)


def correlation_figure(real: dict, fake: dict, title: str, width: int = 720, height: int = 380) -> np.ndarray:
    """Bars: normalized autocorrelation per lag (mean over channels) and channel-pair correlation."""
    import numpy as np
    from PIL import Image, ImageDraw

    labels = [k.replace("dy", "lag ").replace("_dx", ",") for k in real["autocorrelation"]] \
        + list(real["between_channels"])

    def values(s: dict) -> list[float]:
        return [float(np.mean(v)) for v in s["autocorrelation"].values()] + list(s["between_channels"].values())

    r, f = values(real), values(fake)
    lo, hi = min(r + f + [0.0]) - 0.05, max(r + f + [0.0]) + 0.05
    left, right, upper, lower = 70, 20, 40, 60
    pw, ph = width - left - right, height - upper - lower
    canvas = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(canvas)
    font, small = _font(14), _font(12)

    def py(v: float) -> float:
        return upper + (hi - v) / (hi - lo) * ph

    slot = pw / len(labels)
    for i, (lab, a, b) in enumerate(zip(labels, r, f)):
        x = left + i * slot
        for j, (v, col) in enumerate(((a, _REAL), (b, _FAKE))):
            x0 = x + slot * (0.15 + 0.35 * j)
            d.rectangle([x0, min(py(v), py(0)), x0 + slot * 0.3, max(py(v), py(0))], fill=col)
        d.text((x + slot / 2, upper + ph + 8), lab, fill="black", font=small, anchor="ma")
    d.line([(left, py(0)), (left + pw, py(0))], fill="black")
    d.line([(left, upper), (left, upper + ph)], fill="black")
    for v in np.linspace(lo, hi, 5):
        d.text((left - 8, py(v)), f"{v:.2f}", fill="black", font=small, anchor="rm")
    d.text((left + pw / 2, height - 8), "spatial autocorrelation (mean of R, G, B) | correlation between channels",
           fill="black", font=font, anchor="md")
    d.text((left + pw / 2, 8), title, fill="black", font=font, anchor="ma")
    d.text((left + pw - 10, upper + 4), "blue: real   orange: fake", fill="black", font=small, anchor="ra")
    return np.asarray(canvas)
