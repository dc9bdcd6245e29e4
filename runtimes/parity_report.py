"""The parity report's forms: a compact terminal table, a Markdown table and a PNG chart (``pngan parity``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _size(n: Any) -> str:
    if not n:
        return "-"
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def to_table(report: dict[str, Any]) -> str:
    """A compact terminal table: a torch reference row, then one row per artifact."""
    ls = str(report["latency_sizes"][-1]) if report["latency_sizes"] else None
    head = ["artifact", "prec", "size", "vs torch dB", "over identity", "denoised PSNR (Δ)",
            f"p50 {ls}² ms" if ls else "p50 ms", "× torch", "status"]
    rows = []
    for t in report.get("torch", []):
        lat = t["latency"].get(ls, {}) if ls else {}
        den = f"{t['denoised_psnr']:.2f}" if t.get("denoised_psnr") is not None else "-"
        rows.append([f"torch {t['model']} (reference)", "fp32", "-", "-", "-", den,
                     _n(lat.get("p50_ms"), ".1f"), "1.00", "ref"])
    for e in report["artifacts"]:
        d, lat = e.get("denoised"), (e.get("latency") or {}).get(ls, {}) if ls else {}
        margin = e.get("identity_margin_mean_db" if e.get("precision") == "int8" else "identity_margin_min_db")
        status = e["status"].upper() if e["status"] in ("fail", "error") else e["status"]
        if e.get("message"):
            status += f": {e['message']}"
        rows.append([e["name"], e.get("precision", "-"), _size(e.get("size_bytes")),
                     _n(e.get("output_psnr_min_db"), ".1f"),
                     "-" if margin is None else ("-inf" if margin == "-inf" else _n(margin, "+.1f")),
                     f"{d['psnr']:.2f} ({d['delta_psnr']:+.3f})" if d else "-",
                     _n(lat.get("p50_ms"), ".1f"), _n(lat.get("speedup_vs_torch"), ".2f"), status])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = []
    for r in [head, *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r[:-1], widths)) + "  " + str(r[-1]))
    s = report["summary"]
    lines += [f"pairs: {report['data']}",
              f"result: {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped "
              f"(rules in --json/--markdown; over identity = PSNR vs torch minus what returning the input scores: "
              f"worst input, INT8: mean over real images)"]
    return "\n".join(lines) + "\n"


def _n(v: Any, fmt: str) -> str:
    if v is None:
        return "-"
    if v == "inf":
        return "inf"
    return format(v, fmt)


def to_markdown(report: dict[str, Any]) -> str:
    """A Markdown table (one row per artifact) with the thresholds and the data source."""
    ls = [str(s) for s in report["latency_sizes"]]
    head = (["artifact", "model", "backend", "precision", "output PSNR min (dB)", "max abs err",
             "denoised PSNR (Δ vs torch)", "SSIM (Δ)"] + [f"p50/p90 {s}² (ms)" for s in ls]
            + [f"× torch {ls[-1]}²" if ls else "× torch", "status"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in report["artifacts"]:
        d = e.get("denoised")
        lat = e.get("latency") or {}
        row = [e["name"], e.get("model", "-"), e.get("backend", e.get("target", "-")), e.get("precision", "-"),
               _n(e.get("output_psnr_min_db"), ".1f"), _n(e.get("max_abs"), ".2e"),
               f"{d['psnr']:.2f} ({d['delta_psnr']:+.3f})" if d else "-",
               f"{d['ssim']:.4f} ({d['delta_ssim']:+.4f})" if d else "-"]
        row += [f"{lat[s]['p50_ms']:.1f} / {lat[s]['p90_ms']:.1f}" if s in lat else "-" for s in ls]
        last = lat.get(ls[-1], {}) if ls else {}
        row.append(_n(last.get("speedup_vs_torch"), ".2f") if last else "-")
        status = e["status"].upper() if e["status"] in ("fail", "error") else e["status"]
        if e.get("message"):
            status += f": {e['message'].replace('|', '/')}"
        row.append(status)
        lines.append("| " + " | ".join(row) + " |")
    t = report["thresholds"]
    s = report["summary"]
    lines += ["", f"Thresholds: FP32 output PSNR ≥ {t['fp32_db']:g} dB, FP16 ≥ {t['fp16_db']:g} dB, "
                  f"INT8 denoised PSNR drop ≤ {t['int8_delta_db']:g} dB (generators: output PSNR ≥ "
                  f"{t['int8_output_db']:g} dB); FP32/FP16 also ≥ the identity baseline PSNR(torch(x), x) + "
                  f"{t['fp32_margin_db']:g} / {t['fp16_margin_db']:g} dB, INT8 denoisers keep ≥ "
                  f"{t['int8_keep_gain']:.0%} of torch's denoising gain "
                  f"(else mean margin ≥ {t['int8_margin_db']:g} dB), "
                  f"so an artifact returning its input or with other weights fails.",
              f"Pairs: {report['data']}.",
              f"Output parity on random and real inputs at "
              f"{', '.join(f'{v}²' if isinstance(v, int) else f'{v[0]}x{v[1]}' for v in report['sizes'])}; "
              f"latency over {report['repeats']} runs, threads: {report['threads'] or 'default'}.",
              f"Result: {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped."]
    return "\n".join(lines) + "\n"


def draw_chart(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """A PNG bar chart (PIL only): output PSNR vs torch with threshold marks, and latency p50."""
    from PIL import Image, ImageDraw, ImageFont

    from pngan.atomic import write_bytes

    entries = report["artifacts"]
    th = report["thresholds"]
    font = ImageFont.load_default()
    row_h, label_w, bar_w, pad = 22, 190, 330, 14
    n = max(1, len(entries))
    width = label_w + 2 * bar_w + 5 * pad
    height = 60 + n * row_h + 40
    img = Image.new("RGB", (width, height), "white")
    g = ImageDraw.Draw(img)
    g.text((pad, 8), f"pngan parity: {report['root']}", fill="black", font=font)
    x1 = label_w + pad
    x2 = x1 + bar_w + 2 * pad
    ls = str(report["latency_sizes"][-1]) if report["latency_sizes"] else None
    g.text((x1, 28), "output PSNR vs torch (dB, cap 120; | = threshold)", fill="black", font=font)
    g.text((x2, 28), f"latency p50 at {ls}x{ls} (ms; grey = torch)" if ls else "latency", fill="black", font=font)
    lat = [(e.get("latency") or {}).get(ls, {}) for e in entries]
    lmax = max([v for d in lat for v in (d.get("p50_ms"), d.get("torch_p50_ms")) if v] or [1.0])
    colors = {"pass": (46, 160, 67), "fail": (215, 58, 73), "error": (120, 120, 120), "skipped": (180, 180, 180)}
    for i, e in enumerate(entries):
        y = 50 + i * row_h
        g.text((pad, y + 4), f"{e['name'][:22]} {e.get('model', '')[:8]}", fill="black", font=font)
        db = e.get("output_psnr_min_db")
        if db is not None:
            v = 120.0 if db == "inf" else min(float(db), 120.0)
            g.rectangle([x1, y + 3, x1 + int(bar_w * max(v, 0) / 120.0), y + row_h - 5], fill=colors[e["status"]])
            g.text((x1 + 4, y + 4), f"{db if db == 'inf' else f'{float(db):.1f}'}", fill="white", font=font)
            tdb = {"fp32": th["fp32_db"], "fp16": th["fp16_db"]}.get(e.get("precision", ""))
            if e.get("precision") == "int8" and e.get("kind") == "generator":
                tdb = th["int8_output_db"]
            den = e.get("denoised")
            if e.get("precision") == "int8" and den:
                g.text((x1 + int(bar_w * max(v, 0) / 120.0) + 4, y + 4),
                       f"denoised dPSNR {den['delta_psnr']:+.3f} dB (limit -{th['int8_delta_db']:g})",
                       fill="black", font=font)
            if tdb is not None:
                tx = x1 + int(bar_w * tdb / 120.0)
                g.line([tx, y, tx, y + row_h - 2], fill="black", width=2)
        else:
            g.text((x1 + 4, y + 4), f"{e['status']}: {e.get('message', '')[:48]}", fill=colors[e["status"]], font=font)
        d = lat[i]
        if d.get("p50_ms"):
            if d.get("torch_p50_ms"):
                g.rectangle([x2, y + 2, x2 + int(bar_w * d["torch_p50_ms"] / lmax), y + 7], fill=(170, 170, 170))
            g.rectangle([x2, y + 8, x2 + int(bar_w * d["p50_ms"] / lmax), y + row_h - 4], fill=(50, 110, 200))
            sp = d.get("speedup_vs_torch")
            g.text((x2 + int(bar_w * d["p50_ms"] / lmax) + 4, y + 8),
                   f"{d['p50_ms']:.1f} ms" + (f" ({sp:.2f}x torch)" if sp else ""), fill="black", font=font)
    s = report["summary"]
    g.text((pad, height - 24), f"{s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skipped']} skipped",
           fill="black", font=font)
    path = Path(path)
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_bytes(path, buf.getvalue())
    return path
