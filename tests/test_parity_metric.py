"""``pngan parity`` scores denoising with the metric ``pngan denoise`` reports (the paper's: PSNR on the
float output), and says so: one model and one paired folder give one PSNR."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

from pngan.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    from pngan.io.images import write_image
    from pngan.noise import add_poisson_gaussian
    from pngan.assets.samples import sample_image

    data = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(3)
    for i, (y, x) in enumerate(((0, 0), (40, 64))):
        clean = sample_image("coffee")[y:y + 48, x:x + 64]
        write_image(data / "groundtruth" / f"p{i}_mean.png", clean)
        write_image(data / "input" / f"p{i}_real.png", add_poisson_gaussian(clean, rng, 2e-2, 1e-3))
    return data


def _denoise_means(pairs, out, weights) -> tuple[float, float]:
    """Mean (PSNR, SSIM) the ``pngan denoise`` library reports (``pngan.denoise.folder``, formerly in the CLI)."""
    try:
        from pngan.denoise.folder import denoise_folder
    except ImportError:
        from pngan.cli.denoise import run_denoise

        r = run_denoise("dncnn", pairs, out, weights=weights, metrics="paper")
        return r["psnr"], r["ssim"]
    r = denoise_folder(pairs, out, model="dncnn", weights=weights, metrics="paper")
    return r.psnr, r.ssim


def test_parity_torch_psnr_is_the_denoise_psnr(tmp_path, pairs, export_tiny_dncnn):
    _, weights, arts = export_tiny_dncnn(tmp_path / "e", validate=False)
    r = CliRunner().invoke(main, ["parity", "--artifacts", str(arts["onnx"]), "--data", str(pairs),
                                  "--json", str(tmp_path / "p.json"), "--markdown", str(tmp_path / "p.md"),
                                  "--sizes", "32", "--latency-sizes", "32", "--repeats", "1", "--threads", "1"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "p.json").read_text())
    psnr, ssim = _denoise_means(pairs, tmp_path / "den", weights)
    (torch_row,) = rep["torch"]
    assert torch_row["denoised_psnr"] == pytest.approx(psnr, abs=1e-9)
    assert torch_row["denoised_ssim"] == pytest.approx(ssim, abs=1e-9)
    assert rep["metrics"]["denoised"].startswith("paper")
    assert "paper" in next(ln for ln in r.output.splitlines() if ln.startswith("artifact"))
    assert "paper metric" in (tmp_path / "p.md").read_text()
