"""pngan.web.app without a browser: the builder's result and atomicity, the server's headers and stop."""

from __future__ import annotations

import _thread
import json
import signal
import threading
import urllib.request
from pathlib import Path

import pytest

from pngan.errors import PnganError
from pngan.web.app import ORT_FILES, BuiltApp, build_app, make_server, serve_app


def _web_dir(root: Path) -> Path:
    (root / "node_modules" / "onnxruntime-web" / "dist").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html>")
    (root / "app.js").write_text("// page")
    (root / "notes.txt").write_text("not a page file")
    for f in ORT_FILES:
        (root / "node_modules" / "onnxruntime-web" / "dist" / f).write_text(f)
    (root / "node_modules" / "onnxruntime-web" / "package.json").write_text('{"version": "1.2.3"}')
    return root


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory, export_tiny_dncnn) -> Path:
    _, _, arts = export_tiny_dncnn(tmp_path_factory.mktemp("tiny"), targets=("onnx",))
    return arts["onnx"]


def test_build_app_returns_what_it_wrote(tmp_path, onnx_folder):
    built = build_app(tmp_path / "app", web_dir=_web_dir(tmp_path / "web"), artifacts=[onnx_folder])
    assert isinstance(built, BuiltApp) and built.path == tmp_path / "app"
    assert built.models == ("dncnn-fp32",) and built.onnxruntime_web == "1.2.3"
    catalog = json.loads((built.path / "models" / "models.json").read_text())
    assert [m["id"] for m in catalog["models"]] == list(built.models)
    assert tuple(catalog["sample"]["results"]) == built.sample_results
    assert sorted(p.name for p in built.path.iterdir()) == ["app.js", "index.html", "models", "ort", "samples"]
    assert sorted(p.name for p in (built.path / "ort").iterdir()) == sorted(ORT_FILES)
    assert not list(tmp_path.glob(".app.*"))  # no staging folder left


def test_build_app_keeps_an_existing_folder_unless_forced(tmp_path, onnx_folder):
    web, out = _web_dir(tmp_path / "web"), tmp_path / "app"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(PnganError, match="exists; pass --force"):
        build_app(out, web_dir=web, artifacts=[onnx_folder])
    assert (out / "mine.txt").read_text() == "keep"
    assert build_app(out, web_dir=web, artifacts=[onnx_folder], force=True).path == out
    assert not (out / "mine.txt").exists() and (out / "models" / "models.json").is_file()


def test_failed_build_leaves_nothing(tmp_path, onnx_folder):
    """A model file that fails to copy mid-build: no output folder, no staging folder; a forced one is kept."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(onnx_folder, broken)
    (broken / json.loads((broken / "manifest.json").read_text())["artifact"]).unlink()
    web, out = _web_dir(tmp_path / "web"), tmp_path / "app"
    with pytest.raises(PnganError):
        build_app(out, web_dir=web, artifacts=[broken])
    assert not out.exists() and not list(tmp_path.glob(".app.*"))
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(PnganError):
        build_app(out, web_dir=web, artifacts=[broken], force=True)
    assert (out / "mine.txt").read_text() == "keep" and not list(tmp_path.glob(".app.*"))


def _built(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "models" / "models.json").write_text("{}")
    (tmp_path / "m.mjs").write_text("export {};")
    (tmp_path / "w.wasm").write_bytes(b"\0asm")
    return tmp_path


def test_serve_app_headers_and_ctrl_c(tmp_path):
    """The page's headers (COOP/COEP, types); Ctrl-C returns from serve_app and frees the port."""
    folder, seen, stopped = _built(tmp_path), {}, threading.Event()

    def fetch(url: str) -> None:
        try:
            for name in ("index.html", "m.mjs", "w.wasm"):
                with urllib.request.urlopen(url + name, timeout=10) as r:
                    seen[name] = dict(r.headers)
        finally:
            while not stopped.wait(0.5):  # as Ctrl-C, again until serve_app has returned (one can be lost)
                _thread.interrupt_main()

    def ready(url: str) -> None:
        seen["url"] = url
        threading.Thread(target=fetch, args=(url,), daemon=True).start()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # an earlier test may have replaced it
    try:
        serve_app(folder, port=0, quiet=True, on_ready=ready)
    finally:
        stopped.set()
        signal.signal(signal.SIGINT, previous)
    assert seen["url"].startswith("http://127.0.0.1:")
    for name in ("index.html", "m.mjs", "w.wasm"):
        assert seen[name]["Cross-Origin-Opener-Policy"] == "same-origin"
        assert seen[name]["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert seen["m.mjs"]["Content-type"] == "text/javascript"
    assert seen["w.wasm"]["Content-type"] == "application/wasm"
    make_server(folder, port=int(seen["url"].rsplit(":", 1)[1].strip("/")), quiet=True).server_close()


def test_serve_app_refuses_a_folder_that_is_not_built(tmp_path):
    with pytest.raises(PnganError, match="is not a built app"):
        serve_app(tmp_path, port=0)


def test_app_command_prints_the_build(tmp_path, onnx_folder):
    from click.testing import CliRunner

    from pngan.cli import main

    out = tmp_path / "app"
    res = CliRunner().invoke(main, ["app", "--build", str(out), "--web-dir", str(_web_dir(tmp_path / "web")),
                                    "--artifacts", str(onnx_folder)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1] == f"wrote {out}"
