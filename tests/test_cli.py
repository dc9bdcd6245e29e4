"""CLI: --help everywhere, the demo end to end, one-line errors without tracebacks."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.cli.export_cmd import main as export_main


def _commands():
    return [[]] + [[name] for name in main.commands]


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a) or "pngan")
def test_help(args):
    r = CliRunner().invoke(main, [*args, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def test_export_help():
    r = CliRunner().invoke(export_main, ["--help"])
    assert r.exit_code == 0 and "--target" in r.output


# The default: smnet-n_polyu-chroma's noise (strength 2); the shipped default denoiser gains 0.87 dB on it
# (docs/denoisers.md#demo), 4.8 dB on the Poisson-Gaussian sample. An identity model gains 0.
@pytest.mark.slow  # exports or runs the whole demo
@pytest.mark.parametrize("args, gain", [((), 0.2), (("--noise", "poisson-gaussian"), 3.0)])
def test_demo_end_to_end(tmp_path, args, gain):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out), *args])
    assert r.exit_code == 0, r.output
    for f in ("clean.png", "noisy.png", "denoised_torch.png", "denoised_onnx.png", "side_by_side.png",
              "onnx-fp32/model.onnx", "onnx-fp32/manifest.json"):
        assert (out / f).is_file(), f
    assert ("smnet-n_polyu-chroma (strength 2" in r.output) == (not args), r.output
    noisy = float(re.search(r"noisy input\s+([\d.]+) dB", r.output).group(1))
    den = float(re.search(r"denoised, torch eager\s+([\d.]+) dB", r.output).group(1))
    den_onnx = float(re.search(r"denoised, onnxruntime\s+([\d.]+) dB", r.output).group(1))
    assert den > noisy + gain, r.output  # the shipped model really denoises
    assert noisy < 35.0, r.output  # the noise is there (identity output: inf dB)
    assert abs(den - den_onnx) < 0.01
    parity = float(re.search(r"torch vs onnxruntime: PSNR ([\d.]+) dB", r.output).group(1))
    assert parity >= 60.0
    from PIL import Image

    from pngan.cli.demo import LABEL_H

    with Image.open(out / "side_by_side.png") as fig:  # 3 labelled panels over their zoomed crops
        assert fig.size == (3 * 256, 2 * (LABEL_H + 256))


@pytest.mark.parametrize("args, msg", [(("--noise", "poisson-gaussian", "--strength", "2"), "does not apply"),
                                       (("--strength", "0"), "positive number")])
def test_demo_bad_strength_is_one_line(tmp_path, args, msg):
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo"), *args])
    assert r.exit_code != 0 and msg in r.output and "Traceback" not in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "demo").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from pngan.cli.export_cmd import main; main()", *args],
                          capture_output=True, text=True)


def test_export_cli_bad_weights_is_one_line(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 100)
    r = _cli("--model", "dncnn", "--weights", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: ") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_export_cli_unknown_model_and_no_shipped_weights(tmp_path):
    r = _cli("--model", "nope", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "unknown model 'nope'" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--model", "mirnet", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "no shipped weights for 'mirnet'" in r.stderr


def test_export_cli_writes_artifact(tmp_path):
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "onnx-fp32" / "model.onnx").is_file()
