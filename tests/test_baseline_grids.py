"""The hand-made models' level grids reach phone noise, a best level at the edge of its grid is said, and
generate / eval-noise say which noise they used."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.noise.baselines import GRIDS, at_edge


def test_grids_reach_phone_levels():
    sigmas = [float(lab.split()[1]) for lab, _ in GRIDS["gaussian"]]
    assert min(sigmas) <= 1 and max(sigmas) >= 50
    for model in ("poisson-gaussian", "camera"):
        shots = [float(lab.split(",")[0].split()[1]) for lab, _ in GRIDS[model]]
        assert min(shots) <= 5e-5 and max(shots) >= 5e-2


def test_at_edge():
    labels = [lab for lab, _ in GRIDS["gaussian"]]
    assert at_edge("gaussian", labels[0]) and at_edge("gaussian", labels[-1])
    assert not at_edge("gaussian", labels[len(labels) // 2])


def _pairs(root, sigma: float) -> None:
    rng = np.random.default_rng(0)
    for i in range(2):
        c = (0.2 + 0.6 * rng.random((48, 48, 3))).astype(np.float32)
        write_image(root / "groundtruth" / f"x{i}_GT.png", c)
        write_image(root / "input" / f"x{i}_NOISY.png", np.clip(c + sigma / 255 * rng.standard_normal(c.shape), 0, 1))


@pytest.mark.parametrize("sigma, edge", [(10.0, False), (90.0, True)])
def test_eval_noise_says_the_reference_level_and_whether_it_is_at_the_edge(tmp_path, sigma, edge):
    _pairs(tmp_path / "p", sigma)
    r = CliRunner().invoke(main, ["eval-noise", "--data", str(tmp_path / "p"), "--json", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    ref = json.loads((tmp_path / "r.json").read_text())["reference_awgn"]
    assert ref["at_edge"] is edge
    assert (ref["level"] == "sigma 50") is edge  # far stronger noise than the grid: its last level
    line = next(x for x in r.output.splitlines() if x.startswith("AWGN ref level"))
    assert ref["level"] in line and ("the edge of its grid" in line) is edge
    assert "fake noise: generator smnet-s_polyu, 1 sample(s) per image" in r.output


def test_generate_says_which_file_it_used(tmp_path):
    write_image(tmp_path / "in" / "a.png", np.full((16, 16, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, ["generate", "--input-dir", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0 and "smnet-s (smnet-s_polyu): wrote 1 images" in r.output, r.output
    r = CliRunner().invoke(main, ["generate", "--weights", "smnet-s_polyu-texture", "--input-dir",
                                  str(tmp_path / "in"), "--out", str(tmp_path / "t")])
    assert r.exit_code == 0 and "(smnet-s_polyu-texture)" in r.output, r.output
