"""Helpers for the browser-app tests: Chromium's flags, why the tests cannot run, and driving the page.

A plain module (not a conftest): ``tests/web/conftest.py`` puts this folder on ``sys.path``
(pytest runs with importlib mode), so the test modules and the conftest import it by name.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from pngan.web.app import default_web_dir

CHROMIUM = Path("/usr/bin/chromium")
ASSET = Path(__file__).resolve().parents[2] / "pngan" / "assets" / "coffee.png"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A second browser for WebGPU: the GPU process on, WebGPU through Chromium's bundled SwiftShader (Vulkan on the
# CPU; Debian's chromium ships libvk_swiftshader.so). SwiftShader, not a real GPU, so results match across machines.
WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader", "--use-webgpu-adapter=swiftshader"]
WEBGPU_ARGS = [a for a in LAUNCH_ARGS if a != "--disable-gpu"] + WEBGPU_FLAGS
FINISHED = "['done', 'error', 'cancelled'].includes(document.getElementById('status').dataset.state)"
# The float result (before 8-bit display), as base64 bytes: JSON arrays of 200k floats are slow.
READ_RESULT = """() => {
  const r = window.pnganResult;
  if (!r) return null;
  const b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = "";
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
    return btoa(s); };
  return { ...r, input: b64(r.input), output: b64(r.output) };
}"""
# The right-hand canvas as base64 RGBA bytes, read in the page (with the run's progress at that moment).
READ_CANVAS = """() => { const c = document.getElementById('right'), p = document.getElementById('progress');
  const u = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = "";
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
  return { done: p.value, total: p.max, state: document.getElementById('status').dataset.state,
           width: c.width, height: c.height, rgba: btoa(s) }; }"""

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
try:
    import onnxruntime as ort
except ImportError:
    ort = None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if sync_api is None:
        return "playwright is not installed (dev extra)"
    if ort is None:
        return "onnxruntime is not installed (export extra)"
    if not (default_web_dir() / "node_modules" / "onnxruntime-web" / "dist").is_dir():
        return "examples/web/node_modules is missing (run `npm ci` in examples/web)"
    return None


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def png(rgb_u8: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb_u8).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(f"document.body.dataset.ready === '1' || {FINISHED}", timeout=30_000)


def pick(page, name: str, data: bytes, mime: str = "image/png", timeout: float = 60_000) -> str:
    """Choose a file (the page runs the model on it); returns the final status state."""
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
    return wait_done(page, timeout)


def wait_done(page, timeout: float = 60_000) -> str:
    page.wait_for_function(f"document.getElementById('status').dataset.state !== 'loading' && {FINISHED}",
                           timeout=timeout)
    return page.get_attribute("#status", "data-state")


def rerun(page, timeout: float = 60_000) -> str:
    page.evaluate("window.pnganResult = null")
    page.click("#run")
    page.wait_for_function("window.pnganResult !== null || document.getElementById('status').dataset.state === "
                           "'error'", timeout=timeout)
    return wait_done(page, timeout)


def result(page) -> dict:
    r = page.evaluate(READ_RESULT)
    assert r is not None, page.inner_text("#status")
    shape = (1, 3, r["height"], r["width"])
    for k in ("input", "output"):
        r[k] = np.frombuffer(base64.b64decode(r[k]), np.float32).reshape(shape)
    return r


def ort_run(app_dir: Path, model_id: str, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(app_dir / "models" / f"{model_id}.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(["output"], {"input": x})[0]


def canvas_rgba(snap: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(snap["rgba"]), np.uint8).reshape(snap["height"], snap["width"], 4)


def to_u8(x: np.ndarray) -> np.ndarray:
    """1 x 3 x H x W float -> H x W x 3 bytes as the page draws it (clip, round half to even)."""
    return np.clip(np.round(x[0].transpose(1, 2, 0).astype(np.float64) * 255), 0, 255).astype(np.uint8)
