"""``pngan app`` without a browser: its errors, the server's busy port, builds from export artifacts, rng.js.

Each error is one line and exit 1; ``--artifacts`` builds take pngan-export ONNX folders as they are
(a fake page folder stands in for examples/web); the build-time port of rng.js matches it under node.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pngan.web.app import build_app, default_web_dir, make_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_normals_match_rng_js(tmp_path):
    """pngan app's port of rng.js (the generator's input noise at build time) gives the page's exact numbers."""
    import json
    import subprocess

    from pngan.web.app import page_normals

    rng_js = default_web_dir() / "rng.js"
    script = tmp_path / "n.mjs"
    script.write_text(f"import {{ normals }} from {json.dumps(rng_js.as_uri())};\n"
                      "const out = [0, 1, 7, 4294967295].map((s) => Array.from(normals(1001, s)));\n"
                      "console.log(JSON.stringify(out));\n")
    r = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for seed, js in zip([0, 1, 7, 4294967295], json.loads(r.stdout)):
        np.testing.assert_array_equal(page_normals(1001, seed), np.float32(js))


# --- `pngan app` errors: one line, exit 1, no browser needed ---------------------------------------------

def fake_web_dir(root: Path, with_ort: bool = True) -> Path:
    from pngan.web.app import ORT_FILES

    (root / "index.html").parent.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text("<!doctype html>")
    if with_ort:
        dist = root / "node_modules" / "onnxruntime-web" / "dist"
        dist.mkdir(parents=True)
        for f in ORT_FILES:
            (dist / f).write_text("")
    return root


@pytest.mark.parametrize("args, message", [
    ([], "nothing to do"),
    (["--serve"], "--serve needs a folder"),
    (["--serve", "{tmp}/nowhere"], "is not a built app"),
    (["--build", "{tmp}/out", "--web-dir", "{tmp}/no-page"], "page sources not found"),
    (["--build", "{tmp}/out", "--web-dir", "{tmp}/no-ort"], "run `npm ci` there"),
    (["--build", "{tmp}/taken", "--web-dir", "{tmp}/web"], "exists; pass --force"),
])
def test_app_command_errors(tmp_path, args, message):
    from click.testing import CliRunner

    from pngan.cli import main

    fake_web_dir(tmp_path / "web")
    fake_web_dir(tmp_path / "no-ort", with_ort=False)
    (tmp_path / "taken").mkdir()
    res = CliRunner().invoke(main, ["app", *[a.format(tmp=tmp_path) for a in args]])
    assert res.exit_code == 1, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_serve_refuses_a_busy_port(tmp_path):
    from pngan.errors import PnganError

    (tmp_path / "models").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "models" / "models.json").write_text("{}")
    first = make_server(tmp_path, port=0, quiet=True)
    try:
        with pytest.raises(PnganError, match="cannot listen on 127.0.0.1:"):
            make_server(tmp_path, port=first.server_address[1], quiet=True)
    finally:
        first.server_close()


def test_build_from_given_export_artifacts(tmp_path, export_tiny_dncnn):
    """--artifacts: pngan-export ONNX folders go into models.json as they are; other targets are skipped."""
    import json

    from pngan.export import export
    from pngan.models import load_model
    from pngan.models.shipped import default_weights

    _, _, arts = export_tiny_dncnn(tmp_path / "d", targets=("onnx",))
    gen_w = default_weights("smnet-s")
    gen = export(load_model("smnet-s", gen_w), "onnx", tmp_path / "g", weights=gen_w)
    assert json.loads((gen / "manifest.json").read_text())["input_sigma"] == 3.0  # recorded by pngan-export
    (tmp_path / "d" / "arts" / "openvino-fp32").mkdir()
    (tmp_path / "d" / "arts" / "openvino-fp32" / "model.xml").write_text("<?xml version='1.0'?><net/>")
    (tmp_path / "d" / "arts" / "openvino-fp32" / "manifest.json").write_text(json.dumps(
        {"model": "dncnn", "target": "openvino", "precision": "fp32", "artifact": "model.xml"}))
    with pytest.warns(UserWarning, match="openvino-fp32: target openvino, but the browser runs ONNX"):
        built = build_app(tmp_path / "app", web_dir=fake_web_dir(tmp_path / "web"),
                          artifacts=[tmp_path / "d" / "arts", gen, arts["onnx"]])
    out = built.path
    assert built.models == ("dncnn-fp32", "smnet-s-fp32", "dncnn-fp32-2") and built.onnxruntime_web == "unknown"
    models = json.loads((out / "models" / "models.json").read_text())["models"]
    assert [m["id"] for m in models] == ["dncnn-fp32", "smnet-s-fp32", "dncnn-fp32-2"]
    assert [m["input_sigma"] for m in models] == [None, 3.0, None]
    assert [(m["tile"], m["overlap"]) for m in models] == [(256, 32), (512, 64), (256, 32)]
    assert (out / "models" / "dncnn-fp32.onnx").read_bytes() == (arts["onnx"] / "model.onnx").read_bytes()
    assert all("weights" not in m["manifest"] for m in models)  # no paths of the building machine
    sample = json.loads((out / "models" / "models.json").read_text())["sample"]  # the opening view
    assert sorted(sample["results"]) == ["dncnn-fp32", "dncnn-fp32-2", "smnet-s-fp32"]
    for path in [sample["clean"], sample["noisy"], *sample["results"].values()]:
        assert (out / path).is_file(), path


@pytest.mark.parametrize("case", ["openvino-folder", "nothing-onnx", "no-build"])
def test_build_from_artifacts_errors(case, tmp_path):
    from click.testing import CliRunner

    from pngan.cli import main

    folder = tmp_path / "ov"
    folder.mkdir()
    (folder / "model.xml").write_text("<?xml version='1.0'?><net/>")
    (folder / "manifest.json").write_text('{"model": "dncnn", "target": "openvino", "precision": "fp32", '
                                          '"artifact": "model.xml"}')
    args = {"openvino-folder": ["--build", tmp_path / "app", "--artifacts", folder],
            "nothing-onnx": ["--build", tmp_path / "app", "--artifacts", tmp_path],
            "no-build": ["--serve", tmp_path, "--artifacts", folder]}[case]
    message = {"openvino-folder": "target openvino, but the browser runs ONNX",
               "nothing-onnx": "no ONNX artifact folders under", "no-build": "--artifacts needs --build"}[case]
    res = CliRunner().invoke(main, ["app", "--web-dir", fake_web_dir(tmp_path / "web"), *map(str, args)])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "app").exists()
