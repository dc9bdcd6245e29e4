"""The CLI imports torch only when a command needs it: help and argument errors stay fast (timing-free checks)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "onnxruntime", "onnx", "openvino", "scipy", "skimage")

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _run(body: str) -> tuple[list[str], str]:
    """Heavy modules imported after ``body`` runs in a fresh interpreter, and its stderr."""
    r = subprocess.run([sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def test_import_cli_without_torch():
    assert _run("import pngan.cli")[0] == []


def test_import_export_cli_without_torch():
    assert _run("import pngan.cli.export_cmd")[0] == []


_RUN = """
from {module} import main
try:
    main({args!r}, prog_name="pngan")
except SystemExit as e:
    print("exit", e.code, file=sys.stderr)
"""

# argument errors caught before any model or noise code runs (commands whose module checks first)
HELP = [("pngan.cli", ["--help"]), ("pngan.cli", ["denoise", "--help"]), ("pngan.cli", ["generate", "--help"])]
ARG_ERRORS = [
    ("pngan.cli", ["denoise", "--method", "dncn", "--input-dir", "x", "--result-dir", "y"]),
    ("pngan.cli", ["noise", "--sigma", "5", "--input-dir", "/nonexistent", "--result-dir", "y"]),
    ("pngan.cli", ["noise", "--input-dir", "/nonexistent", "--result-dir", "y"]),
    ("pngan.cli", ["generate", "--input-dir", "/nonexistent", "--result-dir", "y"]),
    ("pngan.cli", ["generate", "--samples", "0", "--input-dir", "x", "--result-dir", "y"]),
    ("pngan.cli", ["generate", "--weights", "/nonexistent.safetensors", "--input-dir", "x", "--result-dir", "y"]),
    ("pngan.cli", ["pgap", "--train-dir", "a", "--test-dir", "b"]),
    ("pngan.cli", ["pgap", "--train-dir", "/nonexistent", "--test-dir", "b", "--noise", "gaussian"]),
    ("pngan.cli", ["train", "denoiser", "--config", "/nonexistent.toml"]),
    ("pngan.cli", ["train", "denoiser", "optim.stepz=3"]),
    ("pngan.cli", ["eval-noise", "--clean", "a", "--real", "b"]),
    ("pngan.cli", ["app"]),
    ("pngan.cli", ["demo", "--sample", "nope"]),
    ("pngan.cli.export_cmd", ["--model", "dncn", "--out", "y"]),
]


@pytest.mark.parametrize("module, args", HELP, ids=[" ".join(a) for _, a in HELP])
def test_help_without_torch(module, args):
    heavy, err = _run(_RUN.format(module=module, args=args))
    assert "exit 0" in err and heavy == []


@pytest.mark.parametrize("module, args", ARG_ERRORS,
                         ids=[" ".join(a.values[1]) if hasattr(a, "values") else " ".join(a[1]) for a in ARG_ERRORS])
def test_argument_errors_without_torch(module, args):
    heavy, err = _run(_RUN.format(module=module, args=args))
    assert ("exit 1" in err and "error: " in err) or "exit 2" in err, err
    assert heavy == [], err
