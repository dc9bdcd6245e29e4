"""``pngan-export --weights NAME`` takes a shipped weights name, as every other command does."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")


def test_shipped_weights_name(tmp_path):
    from pngan.cli.export_cmd import main
    from pngan.models import sha256
    from pngan.weights import resolve

    r = CliRunner().invoke(main, ["--model", "dncnn", "--weights", "dncnn_poisson-gaussian", "--target", "onnx",
                                  "--no-validate", "--opt-shape", "32", "32", "--min-shape", "8", "8",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 0 and r.exception is None, r.output
    m = json.loads((tmp_path / "o" / "onnx-fp32" / "manifest.json").read_text())
    shipped = resolve("dncnn_poisson-gaussian")
    assert m["weights"] == str(shipped) and m["weights_sha256"] == sha256(shipped)


def test_unknown_weights_name_is_one_line(tmp_path):
    from pngan.cli.export_cmd import main

    r = CliRunner().invoke(main, ["--model", "dncnn", "--weights", "no_such_weights", "--target", "onnx",
                                  "--no-validate", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert [ln for ln in r.output.splitlines() if ln.startswith("error:")] and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
