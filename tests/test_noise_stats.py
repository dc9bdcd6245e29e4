"""Noise statistics beyond AKLD: noise level function and correlations, and eval-noise's report of them."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.metrics.noise_stats import NoiseStats


def _clean(shape=(96, 96, 3), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def test_white_noise_is_uncorrelated_and_flat():
    rng = np.random.default_rng(1)
    c = _clean()
    s = NoiseStats()
    s.add(c, c + 0.02 * rng.standard_normal(c.shape))
    summary = s.summary()
    assert np.allclose(summary["std"], 5.1, atol=0.15)
    for v in summary["autocorrelation"].values():
        assert np.all(np.abs(v) < 0.04)
    assert all(abs(v) < 0.04 for v in summary["between_channels"].values())
    stds = [v for row in summary["nlf"]["std"] for v in row if v is not None]
    assert max(stds) - min(stds) < 0.8  # flat in intensity


def test_correlated_and_signal_dependent_noise_is_seen():
    rng = np.random.default_rng(2)
    c = _clean()
    n = 0.02 * rng.standard_normal(c.shape)
    s = NoiseStats()
    s.add(c, c + (n + np.roll(n, 1, axis=1)) / 2)  # horizontal pair average: lag (0, 1) correlation 1/2
    corr = s.correlation()
    assert np.allclose(corr["autocorrelation"]["dy0_dx1"], 0.5, atol=0.05)
    assert np.all(np.abs(corr["autocorrelation"]["dy1_dx0"]) < 0.05)
    shared = rng.standard_normal(c.shape[:2])[..., None] * 0.02  # the same noise in every channel
    s = NoiseStats()
    s.add(c, c + shared)
    assert all(v > 0.95 for v in s.correlation()["between_channels"].values())
    s = NoiseStats()
    s.add(c, c + 0.05 * np.sqrt(c) * rng.standard_normal(c.shape))
    std = [row[0] for row in s.nlf()["std"] if row[0] is not None]
    assert std[-1] > 3 * std[0]  # grows with intensity


def test_eval_noise_reports_stats_reference_and_figures(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(2):
        c = _clean((64, 80, 3), seed=10 + i).astype(np.float32)
        n = 0.02 * rng.standard_normal(c.shape)
        write_image(tmp_path / "clean" / f"im{i}_mean.png", c)
        write_image(tmp_path / "real" / f"im{i}_real.png", np.clip(c + (n + np.roll(n, 1, axis=1)) / 2, 0, 1))
        write_image(tmp_path / "fake" / f"im{i}.png", np.clip(c + 0.014 * rng.standard_normal(c.shape), 0, 1))
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["eval-noise", "--clean", str(tmp_path / "clean"), "--real", str(tmp_path / "real"),
                                  "--fake", str(tmp_path / "fake"), "--json", str(out),
                                  "--figures", str(tmp_path / "fig")])
    assert r.exit_code == 0, r.output
    assert "reference" in r.output and "AWGN at its best level" in r.output
    res = json.loads(out.read_text())
    real, fake = res["stats"]["real"], res["stats"]["fake"]
    assert real["lags"]["dy0_dx1"] > 0.35  # the real noise here is correlated ...
    assert abs(fake["lags"]["dy0_dx1"]) < 0.1  # ... the white fake is not
    assert res["reference_awgn"]["level"].startswith("sigma")
    assert 0 <= res["reference_awgn"]["akld"] < 1
    for name in ("noise_level_function", "spectrum", "autocorrelation", "histogram", "crops"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 1000


def test_noise_stats_without_lags_and_merged():
    rng = np.random.default_rng(5)
    c1, c2 = _clean((40, 40, 3), 1), _clean((32, 48, 3), 2)
    n1, n2 = (c + 0.02 * rng.standard_normal(c.shape) for c in (c1, c2))
    both, a, b = NoiseStats(lags=()), NoiseStats(lags=()), NoiseStats(lags=())
    both.add(c1, n1)
    both.add(c2, n2)
    a.add(c1, n1)
    b.add(c2, n2)
    a.merge(b)
    assert a.summary() == both.summary() and both.summary()["autocorrelation"] == {}


def test_eval_noise_takes_a_paired_folder(tmp_path):
    rng = np.random.default_rng(4)
    c = _clean((40, 40, 3)).astype(np.float32)
    write_image(tmp_path / "p" / "groundtruth" / "x_mean.png", c)
    write_image(tmp_path / "p" / "input" / "x_real.png", np.clip(c + 0.02 * rng.standard_normal(c.shape), 0, 1))
    write_image(tmp_path / "fake" / "x.png", np.clip(c + 0.02 * rng.standard_normal(c.shape), 0, 1))
    both = CliRunner().invoke(main, ["eval-noise", "--pairs", str(tmp_path / "p"), "--fake", str(tmp_path / "fake")])
    split = CliRunner().invoke(main, ["eval-noise", "--clean", str(tmp_path / "p" / "groundtruth"),
                                      "--real", str(tmp_path / "p" / "input"), "--fake", str(tmp_path / "fake")])
    assert both.exit_code == 0 and both.output == split.output
    bad = CliRunner().invoke(main, ["eval-noise", "--pairs", str(tmp_path / "p"), "--clean", str(tmp_path),
                                    "--fake", str(tmp_path / "fake")])
    assert bad.exit_code == 1 and bad.output.strip() == "error: give --data DIR, or both --clean DIR and --real DIR"
