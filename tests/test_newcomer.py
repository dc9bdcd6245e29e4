"""What a new user tripped over, one test each: export without --model, several --target options, role
tokens in result names, the README's test command and the browser tests, the install's resolver."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.cli.export_cmd import main as export_main
from pngan.io.images import write_image

ROOT = Path(__file__).resolve().parents[1]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


@pytest.mark.slow  # exports or runs the whole demo
def test_export_without_model_exports_the_default_denoiser(tmp_path):
    from pngan.weights import DEFAULT_DENOISER

    r = CliRunner().invoke(export_main, ["--no-validate", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert _manifest(tmp_path / "onnx-fp32")["model"] == DEFAULT_DENOISER == "resunet-s"


@pytest.mark.slow  # exports or runs the whole demo
def test_export_without_model_takes_the_model_a_safetensors_file_names(tmp_path):
    from pngan.weights import folder

    w = folder() / "dncnn_poisson-gaussian.safetensors"
    r = CliRunner().invoke(export_main, ["--weights", str(w), "--no-validate", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert _manifest(tmp_path / "onnx-fp32")["model"] == "dncnn"


def test_export_without_model_needs_it_for_a_pth_file(tmp_path):
    import torch

    from pngan.models import build

    torch.save(build("dncnn").state_dict(), tmp_path / "w.pth")
    r = CliRunner().invoke(export_main, ["--weights", str(tmp_path / "w.pth"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "--model NAME" in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # exports or runs the whole demo
def test_two_targets_export_both(tmp_path):
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "onnx", "--target", "openvino",
                                         "--no-validate", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx-fp32", "openvino-fp32"]
    assert f"wrote {tmp_path / 'onnx-fp32'}" in r.output and f"wrote {tmp_path / 'openvino-fp32'}" in r.output


@pytest.mark.parametrize("targets, msg", [(("all", "onnx"), "--target all exports every target"),
                                          (("onnx", "onnx"), "--target given twice"),
                                          (("onnx", "nope"), "unknown target 'nope'")])
def test_bad_target_lists_are_one_line(tmp_path, targets, msg):
    args = [a for t in targets for a in ("--target", t)]
    r = CliRunner().invoke(export_main, ["--model", "dncnn", *args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and msg in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "o").exists()


def _image(path: Path, seed: int) -> None:
    write_image(path, np.random.default_rng(seed).random((24, 24, 3)).astype(np.float32))


def test_denoised_files_drop_the_noisy_role_token(tmp_path):
    for i, name in enumerate(("sidd-05_NOISY.png", "a_real.png", "plain.png")):
        _image(tmp_path / "in" / name, i)
    r = CliRunner().invoke(main, ["denoise", "--model", "dncnn", "--input-dir", str(tmp_path / "in"),
                                  "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "plain.png", "sidd-05.png"]


def test_generated_files_drop_the_clean_role_token(tmp_path):
    for i, name in enumerate(("sidd-05_GT.png", "b_mean.png", "plain.png")):
        _image(tmp_path / "in" / name, i)
    r = CliRunner().invoke(main, ["generate", "--input-dir", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png", "plain.png", "sidd-05.png"]


@pytest.mark.parametrize("command, names", [("denoise", ("x_NOISY.png", "x.png")), ("generate", ("x_GT.png", "x.png"))])
def test_two_inputs_with_one_result_name_are_refused_in_one_line(tmp_path, command, names):
    for i, name in enumerate(names):
        _image(tmp_path / "in" / name, i)
    args = ["--model", "dncnn"] if command == "denoise" else []
    r = CliRunner().invoke(main, [command, *args, "--input-dir", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "would both be written as 'x'" in r.output, r.output
    assert "Traceback" not in r.output and not (tmp_path / "o").exists()


def test_the_readme_test_command_fetches_what_the_browser_tests_need():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "bash scripts/test.sh" in readme.splitlines()[4]
    script = (ROOT / "scripts" / "test.sh").read_text("utf-8")
    assert script.index("npm ci") < script.index("pytest")
    assert "examples/web" in script
    layout = next(line for line in readme.splitlines() if line.startswith("| `tests/`"))
    assert "chromium" in layout and "npm ci" in layout  # the same two reasons tests/web/webpage.py gives
    web = (ROOT / "tests" / "web" / "webpage.py").read_text("utf-8")
    assert "apt-get install -y chromium" in web and "npm ci" in web


def test_the_constraints_pin_what_the_resolver_backtracked_through():
    pins = dict(re.findall(r"^([\w.-]+)==(\S+)$", (ROOT / "constraints.txt").read_text("utf-8"), re.M))
    assert {"torch", "pydantic", "pydantic-core", "cattrs", "anyio"} <= set(pins)
