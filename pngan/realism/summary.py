"""The terminal summary of a :class:`~pngan.realism.report.NoiseReport`, and its JSON and figures on disk."""

from __future__ import annotations

import json
from pathlib import Path

from pngan.realism.report import NoiseReport


def summary_lines(r: NoiseReport) -> list[str]:
    """The terminal summary: one table of the fake, the AWGN reference and the real noise."""
    s, ref = r.stats, r.reference
    rows = [("hist KLD (256 bins, vs real)", r.texture["hist_kld"], ref["hist_kld"], None),
            ("hist KLD, image means removed", r.texture["hist_kld_centred"], ref["hist_kld_centred"], None),
            ("mean offset |DC| (0-255)", *(sum(s[k]["mean_offset"]) / 3 for k in ("fake", "reference_awgn", "real"))),
            ("spectrum distance dB", r.texture["spectrum_db"], ref["spectrum_db"], 0.0),
            ("spectrum drop low->high dB", *(s[k]["spectrum"]["drop_db"] for k in ("fake", "reference_awgn", "real"))),
            ("autocorrelation MAE (7x7)", r.texture["autocorrelation_mae"], ref["autocorrelation_mae"], 0.0),
            ("lag-1 autocorrelation", *(s[k]["lag1"] for k in ("fake", "reference_awgn", "real"))),
            ("R-G correlation", *(s[k]["between_channels"]["RG"] for k in ("fake", "reference_awgn", "real"))),
            ("8x8 blockiness", *(s[k]["blockiness"] for k in ("fake", "reference_awgn", "real")))]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    out = [f"{'':30s} {'fake':>8s} {'AWGN ref':>8s} {'real':>8s}",
           f"{'AKLD (vs real)':30s} {r.akld:8.4f} {ref['akld']:8.4f} {'-':>8s}"]
    out += [f"{name:30s} {fmt(a):>8s} {fmt(b):>8s} {fmt(c):>8s}" for name, a, b, c in rows]
    edge = " (the edge of its grid: the best level may lie beyond it)" if ref.get("at_edge") else ""
    out.append(f"{'AWGN ref level':30s} {ref['level']}, the best of {_grid_span()} by AKLD on these images{edge}")
    if r.texture.get("stochastic_fraction") is not None:
        out.append(f"{'seed-dependent share of power':30s} {r.texture['stochastic_fraction']:8.3f} {1.0:8.3f} "
                   f"{'-':>8s}")
    out.append(f"{'noise std R,G,B (0-255)':30s} fake {', '.join(f'{v:.2f}' for v in s['fake']['std'])}; "
               f"AWGN ref {', '.join(f'{v:.2f}' for v in s['reference_awgn']['std'])}; "
               f"real {', '.join(f'{v:.2f}' for v in s['real']['std'])}")
    return out


def _grid_span() -> str:
    from pngan.noise.baselines import GRIDS

    labels = [lab for lab, _ in GRIDS["gaussian"]]
    return f"{labels[0]}..{labels[-1].split()[-1]} ({len(labels)} levels)"


def write_report(r: NoiseReport, json_path: Path | None = None, figures: Path | None = None) -> list[Path]:
    """Write the JSON and/or the figures; figures are drawn before anything is written. Returns the files."""
    from pngan.io.atomic import make_dir, write_text

    drawn = {}
    if figures is not None:
        from pngan.realism.figures import report_figures

        drawn = report_figures(r)
    written = []
    if json_path is not None:
        write_text(json_path, json.dumps(r.to_json(), indent=2) + "\n")
        written.append(json_path)
    if figures is not None:
        from pngan.io.images import write_image

        make_dir(figures)
        for name, img in drawn.items():
            write_image(figures / name, img)
            written.append(figures / name)
    return written
