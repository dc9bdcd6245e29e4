"""Shipped weights by name: the default dncnn is the real-trained one, the other stays reachable by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.models import load_model
from pngan.models.weights import read_metadata
from pngan.weights import folder, names, resolve


def test_resolve_and_defaults(tmp_path):
    assert {"dncnn_polyu", "dncnn_poisson-gaussian", "smnet-s_polyu"} <= set(names())
    assert resolve("dncnn_poisson-gaussian") == folder() / "dncnn_poisson-gaussian.safetensors"
    assert resolve("no_such_name") == Path("no_such_name")  # left alone: the caller reports it missing
    assert resolve("dncnn_polyu") == folder() / "dncnn_polyu.safetensors"  # each name its own file
    assert resolve("sub/dncnn_polyu") == Path("sub/dncnn_polyu")  # a path with a folder is never a shipped name
    local = tmp_path / "dncnn_polyu"
    local.write_text("x")  # a real file of that name wins over the shipped one
    assert resolve(local) == local
    default, other = load_model("dncnn"), load_model("dncnn", "dncnn_poisson-gaussian")
    assert read_metadata(folder() / "dncnn_polyu.safetensors")["stage"] == "denoiser"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(default(x), other(x))  # two different trainings
    ref = load_model(None, folder() / "dncnn_poisson-gaussian.safetensors")
    with torch.no_grad():
        assert torch.equal(other(x), ref(x))


def test_commands_take_a_name(tmp_path):
    write_image(tmp_path / "in" / "a.png", np.full((16, 16, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, ["generate", "--weights", "smnet-s_polyu", "--input-dir", str(tmp_path / "in"),
                                  "--result-dir", str(tmp_path / "g")])
    assert r.exit_code == 0 and (tmp_path / "g" / "a.png").is_file(), r.output
    r = CliRunner().invoke(main, ["denoise", "--method", "dncnn", "--weights", "dncnn_poisson-gaussian",
                                  "--input-dir", str(tmp_path / "in"), "--result-dir", str(tmp_path / "d")])
    assert r.exit_code == 0 and (tmp_path / "d" / "a.png").is_file(), r.output
    r = CliRunner().invoke(main, ["generate", "--weights", "smnet-s_nope", "--input-dir", str(tmp_path / "in"),
                                  "--result-dir", str(tmp_path / "g2")])
    assert r.exit_code == 1 and "no such weights file" in r.output and not (tmp_path / "g2").exists()
