"""The parity report's forms, all from one ``ParityReport``: JSON, a compact terminal table, a Markdown
table and a PNG chart (``pngan parity``)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pngan.runtimes.parity_result import ParityReport

DENOISED = "denoised PSNR, paper metric"


def _size(n: Any) -> str:
    if not n:
        return "-"
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _plain(v: Any) -> Any:
    """JSON-safe: infinities as ``"inf"``/``"-inf"``, NaN as ``null``."""
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def to_dict(report: ParityReport) -> dict[str, Any]:
    """The report as plain data (what ``--json`` writes)."""
    return _plain({**asdict(report), "summary": report.summary, "ok": report.ok})


def to_json(report: ParityReport) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"


def to_table(report: ParityReport) -> str:
    """A compact terminal table: a torch reference row, then one row per artifact."""
    ls = str(report.latency_sizes[-1]) if report.latency_sizes else None
    head = ["artifact", "prec", "size", "vs torch dB", "over identity", f"{DENOISED} (Δ)",
            f"p50 {ls}² ms" if ls else "p50 ms", "× torch", "status"]
    rows = []
    for t in report.torch:
        lat = t.latency.get(ls) if ls else None
        rows.append([f"torch {t.model} (reference)", "fp32", "-", "-", "-", _n(t.denoised_psnr, ".2f"),
                     _n(lat and lat.p50_ms, ".1f"), "1.00", "ref"])
    for e in report.artifacts:
        d, lat = e.denoised, e.latency.get(ls) if ls else None
        margin = e.identity_margin_mean_db if e.precision == "int8" else e.identity_margin_min_db
        rows.append([e.name, e.precision or "-", _size(e.size_bytes), _n(e.output_psnr_min_db, ".1f"),
                     _n(margin, "+.1f"), f"{d.psnr:.2f} ({d.delta_psnr:+.3f})" if d else "-",
                     _n(lat and lat.p50_ms, ".1f"), _n(lat and lat.speedup_vs_torch, ".2f"), _status(e)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = []
    for r in [head, *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r[:-1], widths)) + "  " + str(r[-1]))
    for e in report.artifacts:
        if e.export_drops:
            drops = ", ".join(f"{f['folder']} {f['delta_db']:+.2f}" for f in e.export_drops)
            mixed = f"; {len(e.float_layers)} layer(s) in float" if e.float_layers else ""
            lines.append(f"{e.name}: its export's validation: denoised {drops} dB (budget {e.budget_db:g} dB){mixed}")
    s = report.summary
    lines += [f"pairs: {report.data}",
              f"result: {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped "
              f"(rules in --json/--markdown; over identity = PSNR vs torch minus what returning the input scores: "
              f"worst input, INT8: mean over real images; denoised PSNR as `pngan denoise` reports it)"]
    return "\n".join(lines) + "\n"


def _status(e: Any, bar: bool = False) -> str:
    status = e.status.upper() if e.status in ("fail", "error") else e.status
    if e.message:
        status += f": {e.message.replace('|', '/') if bar else e.message}"
    return status


def _n(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def to_markdown(report: ParityReport) -> str:
    """A Markdown table (one row per artifact) with the thresholds, the metrics and the data source."""
    ls = [str(s) for s in report.latency_sizes]
    head = (["artifact", "model", "backend", "precision", "output PSNR min (dB)", "max abs err",
             f"{DENOISED} (Δ vs torch)", "SSIM, paper metric (Δ)"] + [f"p50/p90 {s}² (ms)" for s in ls]
            + [f"× torch {ls[-1]}²" if ls else "× torch", "status"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in report.torch:
        row = [f"torch {t.model} (reference)", t.model, "torch", "fp32", "-", "-", _n(t.denoised_psnr, ".2f"),
               _n(t.denoised_ssim, ".4f")]
        row += [f"{t.latency[s].p50_ms:.1f} / {t.latency[s].p90_ms:.1f}" if s in t.latency else "-" for s in ls]
        lines.append("| " + " | ".join([*row, "1.00", "ref"]) + " |")
    for e in report.artifacts:
        d, lat = e.denoised, e.latency
        row = [e.name, e.model or "-", e.backend or e.target or "-", e.precision or "-",
               _n(e.output_psnr_min_db, ".1f"), _n(e.max_abs, ".2e"),
               f"{d.psnr:.2f} ({d.delta_psnr:+.3f})" if d else "-",
               f"{d.ssim:.4f} ({d.delta_ssim:+.4f})" if d else "-"]
        row += [f"{lat[s].p50_ms:.1f} / {lat[s].p90_ms:.1f}" if s in lat else "-" for s in ls]
        last = lat.get(ls[-1]) if ls else None
        row += [_n(last and last.speedup_vs_torch, ".2f"), _status(e, bar=True)]
        lines.append("| " + " | ".join(row) + " |")
    t = report.thresholds
    s = report.summary
    lines += ["", f"Thresholds: FP32 output PSNR ≥ {t.fp32_db:g} dB, FP16 ≥ {t.fp16_db:g} dB, "
                  f"INT8 denoised PSNR drop ≤ {t.int8_delta_db:g} dB (generators: output PSNR ≥ "
                  f"{t.int8_output_db:g} dB); FP32/FP16 also ≥ the identity baseline PSNR(torch(x), x) + "
                  f"{t.fp32_margin_db:g} / {t.fp16_margin_db:g} dB, INT8 denoisers keep ≥ "
                  f"{t.int8_keep_gain:.0%} of torch's denoising gain "
                  f"(else mean margin ≥ {t.int8_margin_db:g} dB), "
                  f"so an artifact returning its input or with other weights fails.",
              f"Metrics: output PSNR: {report.metrics['output']}; denoised PSNR/SSIM: {report.metrics['denoised']}.",
              f"Pairs: {report.data}.",
              f"Output parity on random and real inputs at "
              f"{', '.join(f'{v}²' if isinstance(v, int) else f'{v[0]}x{v[1]}' for v in report.sizes)}; "
              f"latency over {report.repeats} runs, threads: {report.threads or 'default'}.",
              f"Result: {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped."]
    return "\n".join(lines) + "\n"


def write_reports(report: ParityReport, *, json_path: str | os.PathLike | None = None,
                  md_path: str | os.PathLike | None = None, plot_path: str | os.PathLike | None = None) -> list[Path]:
    """Write the asked forms (each atomically); returns the paths written."""
    from pngan.io.atomic import write_text

    out = []
    if json_path:
        write_text(json_path, to_json(report))
        out.append(Path(json_path))
    if md_path:
        write_text(md_path, to_markdown(report))
        out.append(Path(md_path))
    if plot_path:
        out.append(draw_chart(report, plot_path))
    return out


def draw_chart(report: ParityReport, path: str | os.PathLike) -> Path:
    """A PNG bar chart (PIL only): output PSNR vs torch with threshold marks, and latency p50."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    from pngan.io.atomic import write_bytes

    entries, th = report.artifacts, report.thresholds
    font = ImageFont.load_default()
    row_h, label_w, bar_w, pad = 22, 190, 330, 14
    width = label_w + 2 * bar_w + 5 * pad
    height = 60 + max(1, len(entries)) * row_h + 40
    img = Image.new("RGB", (width, height), "white")
    g = ImageDraw.Draw(img)
    g.text((pad, 8), f"pngan parity: {report.root}", fill="black", font=font)
    x1 = label_w + pad
    x2 = x1 + bar_w + 2 * pad
    ls = str(report.latency_sizes[-1]) if report.latency_sizes else None
    g.text((x1, 28), "output PSNR vs torch (dB, cap 120; | = threshold)", fill="black", font=font)
    g.text((x2, 28), f"latency p50 at {ls}x{ls} (ms; grey = torch)" if ls else "latency", fill="black", font=font)
    lat = [e.latency.get(ls) if ls else None for e in entries]
    lmax = max([v for d in lat if d for v in (d.p50_ms, d.torch_p50_ms) if v] or [1.0])
    colors = {"pass": (46, 160, 67), "fail": (215, 58, 73), "error": (120, 120, 120), "skipped": (180, 180, 180)}
    for i, e in enumerate(entries):
        y = 50 + i * row_h
        g.text((pad, y + 4), f"{e.name[:22]} {(e.model or '')[:8]}", fill="black", font=font)
        db = e.output_psnr_min_db
        if db is not None:
            v = min(db, 120.0)
            end = x1 + int(bar_w * max(v, 0) / 120.0)
            g.rectangle([x1, y + 3, end, y + row_h - 5], fill=colors[e.status])
            g.text((x1 + 4, y + 4), f"{db:.1f}", fill="white", font=font)
            tdb = {"fp32": th.fp32_db, "fp16": th.fp16_db}.get(e.precision or "")
            if e.precision == "int8" and e.kind == "generator":
                tdb = th.int8_output_db
            if e.precision == "int8" and e.denoised:
                g.text((end + 4, y + 4), f"denoised dPSNR {e.denoised.delta_psnr:+.3f} dB "
                                         f"(limit -{th.int8_delta_db:g})", fill="black", font=font)
            if tdb is not None:
                tx = x1 + int(bar_w * tdb / 120.0)
                g.line([tx, y, tx, y + row_h - 2], fill="black", width=2)
        else:
            g.text((x1 + 4, y + 4), f"{e.status}: {(e.message or '')[:48]}", fill=colors[e.status], font=font)
        d = lat[i]
        if d and d.p50_ms:
            if d.torch_p50_ms:
                g.rectangle([x2, y + 2, x2 + int(bar_w * d.torch_p50_ms / lmax), y + 7], fill=(170, 170, 170))
            g.rectangle([x2, y + 8, x2 + int(bar_w * d.p50_ms / lmax), y + row_h - 4], fill=(50, 110, 200))
            sp = d.speedup_vs_torch
            g.text((x2 + int(bar_w * d.p50_ms / lmax) + 4, y + 8),
                   f"{d.p50_ms:.1f} ms" + (f" ({sp:.2f}x torch)" if sp else ""), fill="black", font=font)
    s = report.summary
    g.text((pad, height - 24), f"{s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped",
           fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_bytes(Path(path), buf.getvalue())
    return Path(path)
