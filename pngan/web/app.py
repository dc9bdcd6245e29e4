"""The browser reference app (examples/web): build a folder with exported ONNX models, and serve it.

The page's sources are not package data: they live in ``examples/web`` of a source
checkout (found beside the ``pngan`` package, or passed as ``web_dir``), with
onnxruntime-web installed there by ``npm ci``. A build folder holds the page, the
``ort/`` files the WASM/WebGPU backend needs, and ``models/`` with the ``.onnx``
files and ``models.json``. The server sends COOP/COEP headers, so the page is
cross-origin isolated and onnxruntime-web can use WASM threads. ``pngan app`` is the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from pngan.errors import PnganError, PnganWarning

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    import numpy as np

# (app id, registered model, precision) built by default. Tiles per kind (TILES): 512 for the
# generator, whose global pooling sees tile statistics; larger tiles stay closer to the whole image.
APP_MODELS = (("dncnn-fp32", "dncnn", "fp32"), ("dncnn-int8", "dncnn", "int8"), ("smnet-s-fp32", "smnet-s", "fp32"))
PAGE_SUFFIXES = (".html", ".css", ".js")
# onnxruntime-web's ESM build with the WASM and WebGPU (JSEP) backends, and its runtime.
ORT_FILES = ("ort.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm")
DEFAULT_PORT = 8000


def default_web_dir() -> Path:
    """``examples/web`` of the source checkout this package was installed from (editable install)."""
    import pngan

    return Path(pngan.__file__).resolve().parent.parent / "examples" / "web"


def _check_web_dir(web_dir: Path) -> Path:
    if not (web_dir / "index.html").is_file():
        raise PnganError(f"page sources not found in {web_dir} (no index.html): run from a source checkout "
                         f"(pip install -e .) or pass --web-dir examples/web")
    dist = web_dir / "node_modules" / "onnxruntime-web" / "dist"
    missing = [f for f in ORT_FILES if not (dist / f).is_file()]
    if missing:
        raise PnganError(f"onnxruntime-web is not installed in {web_dir} (missing {', '.join(missing)}): "
                         f"run `npm ci` there")
    return dist


def _ort_version(web_dir: Path) -> str:
    try:
        return json.loads((web_dir / "node_modules" / "onnxruntime-web" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


TILES = {"denoiser": (256, 32), "generator": (512, 64)}


def _export_shipped(scratch: Path, echo: Callable[[str], None]) -> list[tuple[str, Path]]:
    """Export the shipped models of ``APP_MODELS`` to ONNX; returns ``(app id, artifact folder)``."""
    from pngan.export.exporter import export
    from pngan.models import default_weights, load_model

    out = []
    for app_id, model, precision in APP_MODELS:
        echo(f"exporting {model} ({precision})")
        weights = default_weights(model)
        out.append((app_id, export(load_model(model, weights), "onnx", scratch / app_id, precision=precision,
                                   weights=weights)))
    return out


def _given_artifacts(roots: Sequence[Path]) -> list[tuple[str, Path]]:
    """``pngan-export`` ONNX artifact folders under ``roots``, with unique app ids."""
    from pngan.export.manifest import read_manifest
    from pngan.runtimes.parity import find_artifacts

    out, seen = [], set()
    for root in roots:
        for folder in find_artifacts(root):
            m = read_manifest(folder, verify=False)  # the target is enough here; _entry checks the model file
            if m["target"] != "onnx":
                why = f"{folder}: target {m['target']}, but the browser runs ONNX (pngan-export --target onnx)"
                if folder == root:
                    raise PnganError(why)
                warnings.warn(f"{why}: skipped", PnganWarning, stacklevel=2)
                continue
            app_id = base = f"{m['model']}-{m['precision']}"
            k = 2
            while app_id in seen:
                app_id, k = f"{base}-{k}", k + 1
            seen.add(app_id)
            out.append((app_id, folder))
    if not out:
        raise PnganError(f"no ONNX artifact folders under {', '.join(map(str, roots))}")
    return out


def _input_sigma(manifest: dict[str, Any], folder: Path) -> float:
    """A generator's input noise level: from its manifest, else its weights' metadata, else the default."""
    from pngan.models.inputs import DEFAULT_INPUT_SIGMA
    from pngan.models.weights import read_metadata

    if manifest.get("input_sigma") is not None:
        return float(manifest["input_sigma"])
    w = manifest.get("weights")
    if w and Path(w).suffix == ".safetensors" and Path(w).is_file():
        return float(read_metadata(w).get("input_sigma", DEFAULT_INPUT_SIGMA))
    warnings.warn(f"{folder}: manifest records no input_sigma; the page uses {DEFAULT_INPUT_SIGMA}",
                  PnganWarning, stacklevel=2)
    return DEFAULT_INPUT_SIGMA


def _entry(app_id: str, folder: Path, models_dir: Path) -> dict[str, Any]:
    """Copy one ONNX artifact into ``models_dir`` and describe it for ``models.json``."""
    from pngan.export.manifest import read_manifest
    from pngan.export.onnx_export import INPUT_NAME, OUTPUT_NAME
    from pngan.models import spec

    manifest = read_manifest(folder)
    model, precision = manifest["model"], manifest["precision"]
    kind = spec(model).kind
    target = models_dir / f"{app_id}.onnx"
    shutil.copy2(folder / manifest["artifact"], target)
    tile, overlap = TILES.get(kind, TILES["denoiser"])
    return {"id": app_id, "label": f"{model} {kind} ({precision.upper()})", "model": model, "kind": kind,
            "precision": precision, "file": f"models/{target.name}", "input_name": INPUT_NAME,
            "output_name": OUTPUT_NAME, "size_bytes": target.stat().st_size,
            "input_sigma": _input_sigma(manifest, folder) if kind == "generator" else None,
            "tile": tile, "overlap": overlap,
            "manifest": {k: v for k, v in manifest.items() if k != "weights"}}  # a path on the building machine


SAMPLE = "coffee"  # the shipped sample the page opens with
SAMPLE_SEED = 0  # its synthetic noise, and the page's default generator seed


def page_normals(n: int, seed: int) -> "np.ndarray":
    """``normals(n, seed)`` of examples/web/rng.js (mulberry32 + Box-Muller): float32, as its Float32Array.

    mulberry32's state after k calls is ``seed + k * 0x6d2b79f5`` (mod 2**32), so every
    uniform is computed at once; the integer steps are JavaScript's ``Math.imul`` and ``>>>``.
    """
    import numpy as np

    k = np.arange(1, 2 * ((n + 1) // 2) + 1, dtype=np.uint64)
    a = ((np.uint64(seed & 0xFFFFFFFF) + k * np.uint64(0x6D2B79F5)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    with np.errstate(over="ignore"):
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t ^= t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))
    u = (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0
    r = np.sqrt(-2.0 * np.log(1.0 - u[0::2]))
    theta = 2.0 * np.pi * u[1::2]
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).ravel()[:n].astype(np.float32)


def _write_sample(staging: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's opening view: the shipped sample (clean and with synthetic noise) and each model's result on it.

    Each result is computed here with onnxruntime on the model file the page loads, from the
    8-bit PNG the page decodes, tiled as the page tiles; a generator's input noise is the
    page's own (``page_normals`` at seed ``SAMPLE_SEED``), so Run on the page reproduces it.
    """
    import numpy as np

    from pngan.io.images import from_tensor_batch, read_image, to_tensor_batch, write_image
    from pngan.runtimes.tiling import tiled
    from pngan.assets.samples import noisy_sample, sample_image

    folder = staging / "samples"
    folder.mkdir()
    clean = sample_image(SAMPLE)
    write_image(folder / f"{SAMPLE}.png", clean)
    write_image(folder / f"{SAMPLE}-noisy.png", noisy_sample(clean, np.random.default_rng(SAMPLE_SEED)))
    info: dict[str, Any] = {"name": SAMPLE, "clean": f"samples/{SAMPLE}.png", "noisy": f"samples/{SAMPLE}-noisy.png",
                            "seed": SAMPLE_SEED, "results": {}}
    try:
        import onnxruntime as ort
    except ImportError:  # the page still opens with the sample; Run computes the result
        return info
    for e in entries:
        gen = e["kind"] == "generator"
        x = to_tensor_batch(read_image(staging / (info["clean"] if gen else info["noisy"])))
        if gen:  # as app.js: clean + sigma/255 * N(0, 1), summed in float64 and stored as float32
            noise = page_normals(x.size, SAMPLE_SEED).reshape(x.shape).astype(np.float64)
            x = (x.astype(np.float64) + e["input_sigma"] / 255 * noise).astype(np.float32)
        sess = ort.InferenceSession(str(staging / e["file"]), providers=["CPUExecutionProvider"])
        y = tiled(lambda t: sess.run([e["output_name"]], {e["input_name"]: t})[0], x, e["tile"], e["overlap"],
                  margin=e["overlap"] // 4)
        write_image(folder / f"{e['id']}.png", from_tensor_batch(y))
        info["results"][e["id"]] = f"samples/{e['id']}.png"
    return info


@dataclass(frozen=True)
class BuiltApp:
    """What :func:`build_app` wrote."""

    path: Path  # the app folder
    models: tuple[str, ...]  # app ids, as in models/models.json
    onnxruntime_web: str  # the version copied from node_modules ("unknown" if unreadable)
    sample_results: tuple[str, ...]  # models whose result on the opening sample was precomputed


def build_app(out: str | os.PathLike, *, web_dir: str | os.PathLike | None = None, force: bool = False,
              artifacts: Sequence[str | os.PathLike] = (), echo: Callable[[str], None] | None = None) -> BuiltApp:
    """Write the page, onnxruntime-web and the models to ``out``; ``echo`` gets progress lines.

    The models are ``pngan-export`` ONNX artifact folders found under ``artifacts``, or,
    without them, fresh exports of the shipped DnCNN (FP32, INT8) and SMNet-s (FP32).
    Everything is built in a temp folder beside ``out`` and renamed at the end, so a
    failure leaves nothing half-written; an existing ``out`` is kept unless ``force``.
    """
    import tempfile

    from pngan.io.atomic import atomic_dir

    out = Path(out)
    web = Path(web_dir) if web_dir is not None else default_web_dir()
    dist = _check_web_dir(web)
    if out.exists() and not force:
        raise PnganError(f"{out} exists; pass --force to replace it")
    given = _given_artifacts([Path(a) for a in artifacts]) if artifacts else None
    with atomic_dir(out) as staging:
        for f in sorted(web.iterdir()):
            if f.is_file() and f.suffix in PAGE_SUFFIXES:
                shutil.copy2(f, staging / f.name)
        (staging / "ort").mkdir()
        for f in ORT_FILES:
            shutil.copy2(dist / f, staging / "ort" / f)
        models_dir = staging / "models"
        models_dir.mkdir()
        scratch = Path(tempfile.mkdtemp(prefix=".export.", dir=staging))
        try:
            entries = [_entry(app_id, folder, models_dir)
                       for app_id, folder in (given or _export_shipped(scratch, echo or (lambda _: None)))]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        catalog = {"format_version": 1, "onnxruntime_web": _ort_version(web), "models": entries,
                   "sample": _write_sample(staging, entries)}
        (models_dir / "models.json").write_text(json.dumps(catalog, indent=2) + "\n")
    return BuiltApp(out, tuple(e["id"] for e in entries), catalog["onnxruntime_web"],
                    tuple(catalog["sample"]["results"]))


def _handler_class(quiet: bool) -> type:
    """Static files with the headers the page needs: COOP/COEP (WASM threads), no caching, .mjs/.wasm types.

    Built on first use, so that importing the CLI does not import ``http.server``.
    """
    from http.server import SimpleHTTPRequestHandler

    class AppHandler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                          ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
                          ".onnx": "application/octet-stream"}

        def end_headers(self) -> None:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base-class signature)
            if not quiet:
                super().log_message(format, *args)

    return AppHandler


def make_server(directory: str | os.PathLike, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for a built app folder (``port=0``: any free port); call ``serve_forever``."""
    import functools
    from http.server import ThreadingHTTPServer

    directory = Path(directory)
    if not (directory / "index.html").is_file() or not (directory / "models" / "models.json").is_file():
        raise PnganError(f"{directory} is not a built app (no index.html or models/models.json); "
                         f"build it with `pngan app --build {directory}`")
    handler = _handler_class(quiet)
    try:
        server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))
    except OSError as e:
        raise PnganError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    server.daemon_threads = True
    return server


def serve_app(directory: str | os.PathLike, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
              quiet: bool = False, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve a built app folder until Ctrl-C (or ``shutdown()`` from another thread); ``on_ready(url)``
    is called once the port is bound (``port=0``: any free port)."""
    server = make_server(directory, host, port, quiet)
    try:
        if on_ready is not None:
            h, p = server.server_address[:2]
            on_ready(f"http://{h}:{p}/")
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a server stops: not an error
        pass
    finally:
        server.server_close()
