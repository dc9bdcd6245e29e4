"""``pngan.denoise.folder.denoise_folder``: the library behind ``pngan denoise``, called directly."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from pngan.io.images import read_image, write_image


@pytest.fixture
def paired(tmp_path, coffee_pairs):
    return coffee_pairs(tmp_path / "set", rows=64)


def test_typed_report_rows_means_and_csv(paired, tmp_path, one_thread):
    from pngan.denoise.folder import DenoiseReport, ImageScore, denoise_folder
    from pngan.metrics import psnr_paper, ssim_paper

    out = tmp_path / "out"
    report = denoise_folder(paired, out, model="dncnn")
    assert isinstance(report, DenoiseReport) and report.model == "dncnn" and report.metrics == "paper"
    assert (report.total, report.written, report.skipped, report.failed) == (2, 2, 0, [])
    assert [r.id for r in report.rows] == ["im0", "im1"] and all(isinstance(r, ImageScore) for r in report.rows)
    for r in report.rows:  # the scores are those of the written result against the clean image
        (result,) = out.glob(f"{r.id}_*dB_*.png")
        clean, noisy = (read_image(paired / d / f"{r.id}_{s}.png") for d, s in (("groundtruth", "mean"),
                                                                                ("input", "real")))
        assert r.noisy_psnr == pytest.approx(psnr_paper(noisy, clean)) and r.noisy_ssim == pytest.approx(
            ssim_paper(noisy, clean))
        assert result.name == f"{r.id}_{r.psnr:.2f}dB_{r.ssim:.4f}.png"
        assert r.psnr == pytest.approx(psnr_paper(read_image(result), clean), abs=0.05)
    assert report.psnr == pytest.approx(np.mean([r.psnr for r in report.rows]))
    assert report.ssim == pytest.approx(np.mean([r.ssim for r in report.rows]))
    assert report.psnr > report.mean("noisy_psnr") + 1 and report.images_per_s > 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [float(r["psnr"]) for r in rows] == pytest.approx([r.psnr for r in report.rows], abs=1e-4)


def test_unpaired_failures_go_to_the_callback(tmp_path, one_thread):
    from pngan.denoise.folder import denoise_folder

    src = tmp_path / "in"
    write_image(src / "a.png", np.full((16, 16, 3), 0.5, np.float32))
    (src / "b.png").write_bytes(b"garbage")
    seen: list[str] = []
    report = denoise_folder(src, tmp_path / "out", model="dncnn", on_failure=seen.append)
    assert report.rows == [] and math.isnan(report.psnr)
    assert report.written == 1 and len(report.failed) == 1 and seen == report.failed
    assert "b.png: cannot decode" in seen[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_the_runner_tiles_with_the_runtimes_geometry(one_thread):
    """DenoiseRunner uses BaseRunner.tile_geometry (one measured radius per runner), not a copy of it."""
    from pngan.denoise.runner import DenoiseRunner
    from pngan.runtimes.autotile import geometry_for

    r = DenoiseRunner("dncnn")
    try:
        geo = r.geometry(128)
        want = r.runner.tile_geometry((128, 128))
        assert geo == {**want, "align": 1}
        radius = r.runner._geometry["radius"]  # probed once, by the runner
        assert {k: geo[k] for k in ("overlap", "margin")} == {k: geometry_for(radius, 128)[k]
                                                              for k in ("overlap", "margin")}
    finally:
        r.close()
    src = Path(__import__("pngan.cli.denoise", fromlist=["x"]).__file__).read_text()
    assert "geometry_for" not in src and "receptive_radius" not in src and len(src.splitlines()) <= 200


def test_bench_script_uses_the_library():
    text = (Path(__file__).parents[1] / "scripts" / "bench_denoise.py").read_text()
    assert "from pngan.denoise.folder import denoise_folder" in text and "pngan.cli" not in text
