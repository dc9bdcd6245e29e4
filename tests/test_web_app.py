"""The browser app (examples/web) in headless Chromium: parity with Python ONNX Runtime, tiling, bad input.

Needs /usr/bin/chromium (Debian's ``chromium``), the ``playwright`` package (dev extra; its
own browser downloads are never used) and ``npm ci`` in examples/web; skips otherwise.
Screenshots go to ``$PNGAN_TEST_ARTIFACTS`` (default: a ``web-artifacts`` folder under
pytest's tmp path); each test prints where.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from pngan.webapp import build_app, default_web_dir, make_server

CHROMIUM = Path("/usr/bin/chromium")
ASSET = Path(__file__).resolve().parent.parent / "pngan" / "assets" / "coffee.png"
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


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    env = os.environ.get("PNGAN_TEST_ARTIFACTS")
    folder = Path(env) if env else tmp_path_factory.mktemp("web-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> Path:
    """The page built by ``pngan app --build`` (the three exports), once for the module."""
    if why := browser_missing():
        pytest.skip(why)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the INT8 calibration note
        return build_app(tmp_path_factory.mktemp("web") / "app", echo=lambda _: None).path


@pytest.fixture(scope="module")
def url(app_dir: Path):
    server = make_server(app_dir, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def playwright():
    """One Playwright for the module's browsers (the sync API allows one at a time)."""
    if why := browser_missing():
        pytest.skip(why)
    with sync_api.sync_playwright() as pw:
        yield pw


def _launch(playwright, tmp_path_factory, profile: str, args: list[str]):
    """A headless Debian Chromium with a fresh profile (playwright refuses --user-data-dir in ``args``)."""
    return playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp(profile)), executable_path=str(CHROMIUM), headless=True, args=args,
        viewport={"width": 1280, "height": 800})


def _new_page(context):
    """A page that records uncaught page errors in ``page.errors``; closed after the test."""
    p = context.new_page()
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    yield p
    p.close()


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    context = _launch(playwright, tmp_path_factory, "chromium-profile", LAUNCH_ARGS)
    yield context
    context.close()


@pytest.fixture
def page(browser, url):
    yield from _new_page(browser)


ADAPTER_INFO = """async () => { if (!navigator.gpu) return "navigator.gpu is missing";
  const a = await navigator.gpu.requestAdapter(); if (!a) return "navigator.gpu.requestAdapter() gave null";
  return { vendor: a.info.vendor, architecture: a.info.architecture, fallback: a.info.isFallbackAdapter }; }"""


@pytest.fixture(scope="module")
def gpu_browser(playwright, tmp_path_factory, url):
    """Chromium with WebGPU (WEBGPU_ARGS) and its adapter's info; skips where it gives no adapter."""
    context = _launch(playwright, tmp_path_factory, "chromium-webgpu-profile", WEBGPU_ARGS)
    try:
        probe = context.new_page()
        probe.goto(url)  # a secure context (127.0.0.1): navigator.gpu is only there
        info = probe.evaluate(ADAPTER_INFO)
        probe.close()
        if isinstance(info, str):
            pytest.skip(f"no WebGPU in headless {CHROMIUM} with {' '.join(WEBGPU_FLAGS)}: {info}")
        context.adapter = info
        yield context
    finally:
        context.close()


@pytest.fixture
def gpu_page(gpu_browser, url):
    yield from _new_page(gpu_browser)


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


@pytest.fixture(scope="module")
def images():
    """Coffee (clean) and a noisy 8-bit version of it, as uint8 arrays and float NCHW in [0, 1]."""
    from PIL import Image

    clean = np.asarray(Image.open(ASSET).convert("RGB"))
    rng = np.random.default_rng(0)
    noisy = np.clip(np.round(clean + rng.normal(0, 15, clean.shape)), 0, 255).astype(np.uint8)
    nchw = lambda a: np.ascontiguousarray(a.transpose(2, 0, 1)[None], np.float32) / np.float32(255)  # noqa: E731
    return {"clean": clean, "noisy": noisy, "clean_x": nchw(clean), "noisy_x": nchw(noisy)}


def test_tiling_plan_matches_python(page, url):
    from pngan.runtimes.tiling import _axis_plan

    open_app(page, url)
    cases = [(1000, 256, 32, 8), (300, 128, 40, 10), (256, 256, 32, 8), (100, 256, 32, 8), (513, 128, 32, 0)]
    js = page.evaluate("""async (cases) => { const t = await import('./tiling.js');
      return cases.map(([s, tl, o, m]) => { const p = t.axisPlan(s, tl, o, m);
        return { starts: p.starts, weights: p.weights.map((w) => Array.from(w)), norm: Array.from(p.norm) }; }); }""",
                       cases)
    for (size, tile, overlap, margin), got in zip(cases, js):
        starts, weights, norm = _axis_plan(size, tile, overlap, margin)
        assert got["starts"] == starts
        for w_js, w_py in zip(got["weights"], weights, strict=True):
            np.testing.assert_array_equal(np.float32(w_js), w_py)
        np.testing.assert_array_equal(np.float32(got["norm"]), norm)


def test_denoiser_fp32_matches_python_ort(page, url, app_dir, images, artifacts):
    from pngan.runtimes.tiling import tiled

    open_app(page, url)
    assert page.input_value("#model") == "dncnn-fp32"
    assert pick(page, "noisy.png", png(images["noisy"])) == "done", page.inner_text("#status")
    r = result(page)
    np.testing.assert_array_equal(r["input"], images["noisy_x"])  # the same decode as PIL
    ref = ort_run(app_dir, "dncnn-fp32", images["noisy_x"])
    whole = psnr(r["output"], ref)
    timing = page.inner_text("#time")
    assert re.search(r"inference \d+ ms \(1 tile, ", timing), timing
    page.screenshot(path=str(artifacts / "denoise-fp32.png"), full_page=True)
    # Tiled in JavaScript vs pngan.runtimes.tiled over Python ORT: the same blend.
    page.fill("#tile", "128")
    page.fill("#overlap", "32")
    assert rerun(page) == "done", page.inner_text("#status")
    t = result(page)
    assert t["tiles"] == 9
    ref_tiled = tiled(lambda x: ort_run(app_dir, "dncnn-fp32", x), images["noisy_x"], tile=128, overlap=32)
    tiled_db = psnr(t["output"], ref_tiled)
    gain = psnr(r["output"], images["clean_x"]) - psnr(images["noisy_x"], images["clean_x"])
    print(f"\nFP32 JS vs Python ORT: whole {whole:.1f} dB, tiled(128/32) {tiled_db:.1f} dB; denoising gain "
          f"{gain:.2f} dB; page: {timing!r}, tiled: {page.inner_text('#time')!r}; screenshot: {artifacts}")
    assert whole >= 50 and tiled_db >= 50
    assert gain > 1
    assert not page.errors


def test_denoiser_fp32_on_webgpu_matches_python_ort(gpu_page, gpu_browser, url, app_dir, images, artifacts):
    """The WebGPU backend (SwiftShader here) vs Python ORT, and that the page says which backend really ran.

    A 64 x 96 crop of the parity test's input in two 64 x 64 tiles: SwiftShader on the CPU takes ~20 s for the
    whole 256 x 256 photo.
    """
    from pngan.runtimes.tiling import tiled

    page = gpu_page
    crop = np.ascontiguousarray(images["noisy"][:64, :96])
    x = np.ascontiguousarray(images["noisy_x"][..., :64, :96])
    open_app(page, url)
    assert page.eval_on_selector_all("#backend option", "os => os.map((o) => o.value)") == ["wasm", "webgpu"]
    assert page.input_value("#backend") == "webgpu"  # the default where there is an adapter
    page.fill("#tile", "64")
    page.fill("#overlap", "16")
    assert pick(page, "crop.png", png(crop)) == "done", page.inner_text("#status")
    g = result(page)
    # Ran on WebGPU (its output came back from a GPU buffer), not a silent fall-back to WASM.
    assert (g["backend"], g["requestedBackend"], g["tiles"]) == ("webgpu", "webgpu", 2)
    name = f"{gpu_browser.adapter['vendor']} {gpu_browser.adapter['architecture']}".strip()
    assert g["gpu"] == name
    gpu_time = page.inner_text("#time")
    assert re.fullmatch(rf"inference \d+ ms \(2 tiles, WebGPU, {re.escape(name)}\); total \d+ ms", gpu_time), gpu_time
    np.testing.assert_array_equal(g["input"], x)
    ref = tiled(lambda t: ort_run(app_dir, "dncnn-fp32", t), x, tile=64, overlap=16)
    db = psnr(g["output"], ref)
    page.screenshot(path=str(artifacts / "denoise-fp32-webgpu.png"), full_page=True)
    # The same on WASM in the same page, for the timing and the backend it reports.
    page.select_option("#backend", "wasm")
    assert rerun(page) == "done", page.inner_text("#status")
    w = result(page)
    assert (w["backend"], w["requestedBackend"], w["gpu"]) == ("wasm", "wasm", "")
    print(f"\nFP32 WebGPU ({gpu_browser.adapter}) vs Python ORT, 64x96 in 2 tiles: {db:.1f} dB (WASM on the page: "
          f"{psnr(w['output'], ref):.1f} dB); page: WebGPU {gpu_time!r}, WASM {page.inner_text('#time')!r}")
    assert db >= 40
    assert not page.errors


def test_webgpu_that_fails_to_start_is_an_error_not_wasm(gpu_page, url, images):
    """No adapter for onnxruntime-web (after the page offered WebGPU): an error, never WASM labelled WebGPU."""
    page = gpu_page
    open_app(page, url)
    assert page.input_value("#backend") == "webgpu"
    page.evaluate("navigator.gpu.requestAdapter = async () => null")  # what onnxruntime-web asks when it starts
    assert pick(page, "crop.png", png(np.ascontiguousarray(images["noisy"][:32, :32]))) == "error"
    status = page.inner_text("#status")
    assert "could not load model dncnn-fp32 (models/dncnn-fp32.onnx) on WebGPU (choose the WASM backend" in status
    assert "Failed to get GPU adapter" in status
    assert page.evaluate("window.pnganResult") is None
    page.select_option("#backend", "wasm")  # WASM still works in the same page
    assert rerun(page) == "done", page.inner_text("#status")
    assert page.evaluate("window.pnganResult.backend") == "wasm"


def test_denoiser_int8_runs_close_to_torch(page, url, images):
    import torch

    from pngan.models import default_weights, load_model
    from pngan.models.inference import InferenceModel

    open_app(page, url)
    page.select_option("#model", "dncnn-int8")
    assert pick(page, "noisy.png", png(images["noisy"])) == "done", page.inner_text("#status")
    r = result(page)
    with torch.inference_mode():
        ref = InferenceModel(load_model("dncnn", default_weights("dncnn")))(torch.from_numpy(images["noisy_x"])).numpy()
    db = psnr(r["output"], ref)
    noisy_db, out_db = psnr(images["noisy_x"], images["clean_x"]), psnr(r["output"], images["clean_x"])
    print(f"\nINT8 (browser) vs torch FP32: {db:.1f} dB; vs clean {out_db:.2f} dB (noisy {noisy_db:.2f} dB); "
          f"page: {page.inner_text('#time')!r}")
    assert db >= 30
    assert out_db > noisy_db + 1


def test_generator_is_seeded_and_matches_python_ort(page, url, app_dir, images, artifacts):
    import json

    sigma = next(m for m in json.loads((app_dir / "models" / "models.json").read_text())["models"]
                 if m["id"] == "smnet-s-fp32")["input_sigma"]
    open_app(page, url)
    page.select_option("#model", "smnet-s-fp32")
    assert page.is_visible("#seed")
    page.fill("#seed", "7")
    assert pick(page, "clean.png", png(images["clean"])) == "done", page.inner_text("#status")
    a = result(page)
    assert a["seed"] == 7
    noise = (a["input"] - images["clean_x"]) * 255
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - sigma) < 0.05 * sigma  # clean + sigma/255 * N(0, 1)
    db = psnr(a["output"], ort_run(app_dir, "smnet-s-fp32", a["input"]))
    page.screenshot(path=str(artifacts / "generate-seed7.png"), full_page=True)
    assert rerun(page) == "done"
    b = result(page)
    np.testing.assert_array_equal(a["input"], b["input"])
    np.testing.assert_array_equal(a["output"], b["output"])
    page.fill("#seed", "8")
    assert rerun(page) == "done"
    c = result(page)
    assert not np.array_equal(a["input"], c["input"])
    print(f"\ngenerator (sigma {sigma}) JS vs Python ORT on the JS input: {db:.1f} dB; "
          f"page: {page.inner_text('#time')!r}")
    assert db >= 50
    assert page.inner_text("#right-caption") == "synthesized noisy (seed 8)"


def test_bad_files_show_a_message(page, url, images, artifacts):
    open_app(page, url)
    assert pick(page, "notes.txt", b"not an image at all\n", mime="text/plain") == "error"
    assert "is not an image" in page.inner_text("#status")
    page.screenshot(path=str(artifacts / "not-an-image.png"), full_page=True)
    # Over the page's pixel limit: refused with the reason, before any work.
    big = np.zeros((4100, 4100, 3), np.uint8)
    assert pick(page, "huge.png", png(big)) == "error"
    assert "handles up to 16 MP" in page.inner_text("#status")
    # Bad tile settings: a message, not a crash; a good image still runs afterwards.
    page.fill("#tile", "40")
    assert pick(page, "noisy.png", png(images["noisy"])) == "error"
    assert "need tile > 2 * overlap" in page.inner_text("#status")
    page.fill("#tile", "256")
    assert rerun(page) == "done"
    assert not page.errors


@pytest.mark.parametrize("body, status, expect", [
    (b"this is not an onnx model", 200, "could not load model dncnn-fp32"),
    (b"", 404, "HTTP 404"),
])
def test_model_that_fails_to_load_shows_a_message(page, url, images, body, status, expect):
    page.route("**/models/dncnn-fp32.onnx", lambda route: route.fulfill(status=status, body=body))
    open_app(page, url)
    assert pick(page, "noisy.png", png(images["noisy"])) == "error"
    assert expect in page.inner_text("#status")
    assert page.is_visible("#left")  # the photo is still shown


def test_missing_catalog_shows_a_message(page, url):
    page.route("**/models/models.json", lambda route: route.fulfill(status=404, body=b""))
    open_app(page, url)
    assert page.get_attribute("#status", "data-state") == "error"
    assert "pngan app --build" in page.inner_text("#status")


def test_large_photo_shows_tile_progress_and_cancels(page, url, images, artifacts):
    from PIL import Image

    big = np.asarray(Image.fromarray(images["noisy"]).resize((3000, 2000), Image.BILINEAR))
    open_app(page, url)
    page.set_input_files("#file", files=[{"name": "big.png", "mimeType": "image/png", "buffer": png(big)}])
    page.wait_for_function("document.getElementById('progress').value >= 2", timeout=60_000)
    text = page.inner_text("#progress-text")
    assert re.fullmatch(r"tile \d+/126", text), text  # 14 x 9 tiles of 256 with overlap 32
    page.screenshot(path=str(artifacts / "large-progress.png"), full_page=True)
    page.click("#cancel")
    assert wait_done(page) == "cancelled"
    assert re.match(r"Cancelled after \d+ of 126 tiles", page.inner_text("#status"))
    assert page.evaluate("[document.getElementById('left').width, document.getElementById('left').height]") == \
        [3000, 2000]
    assert not page.errors


def _canvas(page, canvas_id: str) -> np.ndarray:
    snap = page.evaluate(READ_CANVAS.replace("'right'", f"'{canvas_id}'"))
    return canvas_rgba(snap)[..., :3]


def _png_file(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_opens_with_the_sample_processed(page, url, app_dir, images, artifacts):
    """The page opens on the shipped sample with each model's build-time result; Run reproduces it in the browser."""
    open_app(page, url)
    sample = page.evaluate("window.pnganSample")
    assert sample == {"model": "dncnn-fp32", "input": "samples/coffee-noisy.png", "result": "samples/dncnn-fp32.png"}
    assert page.get_attribute("#status", "data-state") == "idle"
    assert "Showing the shipped sample" in page.inner_text("#status")
    noisy, shown = _png_file(app_dir / sample["input"]), _png_file(app_dir / sample["result"])
    np.testing.assert_array_equal(_canvas(page, "left"), noisy)
    np.testing.assert_array_equal(_canvas(page, "right"), shown)
    page.screenshot(path=str(artifacts / "opening-sample.png"), full_page=True)
    clean = images["clean"]
    gain = psnr(shown / 255, clean / 255) - psnr(noisy / 255, clean / 255)
    assert gain > 1  # a real denoised result, not the input again
    assert rerun(page) == "done", page.inner_text("#status")  # Run: the same model on the sample, here
    live = result(page)
    den_db = psnr(live["output"], shown.transpose(2, 0, 1)[None] / 255)
    # The generator: the clean sample, its result at the page's seed; Run gives the same (the page's own noise).
    page.select_option("#model", "smnet-s-fp32")
    page.wait_for_function("window.pnganSample && window.pnganSample.model === 'smnet-s-fp32'", timeout=30_000)
    np.testing.assert_array_equal(_canvas(page, "left"), _png_file(app_dir / "samples" / "coffee.png"))
    assert page.input_value("#seed") == "0"
    gen_png = _png_file(app_dir / "samples" / "smnet-s-fp32.png")
    np.testing.assert_array_equal(_canvas(page, "right"), gen_png)
    assert rerun(page) == "done", page.inner_text("#status")
    gen_db = psnr(result(page)["output"], gen_png.transpose(2, 0, 1)[None] / 255)
    print(f"\nopening sample: dncnn-fp32 gain {gain:.2f} dB; browser Run vs build-time result: denoiser "
          f"{den_db:.1f} dB, generator {gen_db:.1f} dB (8-bit PNG quantization: ~59 dB)")
    assert den_db >= 50 and gen_db >= 50
    assert not page.errors


def test_picked_photo_replaces_the_sample(page, url, images):
    open_app(page, url)
    assert page.evaluate("window.pnganSample") is not None
    assert pick(page, "noisy.png", png(images["noisy"])) == "done", page.inner_text("#status")
    assert page.evaluate("window.pnganSample") is None
    page.select_option("#model", "smnet-s-fp32")  # a model change keeps the user's photo
    page.wait_for_timeout(300)
    np.testing.assert_array_equal(_canvas(page, "left"), images["noisy"])


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_normals_match_rng_js(tmp_path):
    """pngan app's port of rng.js (the generator's input noise at build time) gives the page's exact numbers."""
    import json
    import subprocess

    from pngan.webapp import page_normals

    rng_js = default_web_dir() / "rng.js"
    script = tmp_path / "n.mjs"
    script.write_text(f"import {{ normals }} from {json.dumps(rng_js.as_uri())};\n"
                      "const out = [0, 1, 7, 4294967295].map((s) => Array.from(normals(1001, s)));\n"
                      "console.log(JSON.stringify(out));\n")
    r = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for seed, js in zip([0, 1, 7, 4294967295], json.loads(r.stdout)):
        np.testing.assert_array_equal(page_normals(1001, seed), np.float32(js))


# The right-hand canvas as base64 RGBA bytes, read in the page (with the run's progress at that moment).
READ_CANVAS = """() => { const c = document.getElementById('right'), p = document.getElementById('progress');
  const u = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = "";
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
  return { done: p.value, total: p.max, state: document.getElementById('status').dataset.state,
           width: c.width, height: c.height, rgba: btoa(s) }; }"""


def canvas_rgba(snap: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(snap["rgba"]), np.uint8).reshape(snap["height"], snap["width"], 4)


def to_u8(x: np.ndarray) -> np.ndarray:
    """1 x 3 x H x W float -> H x W x 3 bytes as the page draws it (clip, round half to even)."""
    return np.clip(np.round(x[0].transpose(1, 2, 0).astype(np.float64) * 255), 0, 255).astype(np.uint8)


def test_tiled_photo_draws_progressively_and_matches_python(page, url, app_dir, images, artifacts):
    """1024x768, tiles 256/32 (5 x 4 = 20): the output canvas fills in tile by tile with final pixels."""
    import time

    from PIL import Image

    from pngan.runtimes.tiling import _axis_plan, tiled

    rng = np.random.default_rng(1)
    up = np.asarray(Image.fromarray(images["clean"]).resize((1024, 768), Image.BILINEAR), np.float64)
    photo = np.clip(np.round(up + rng.normal(0, 15, up.shape)), 0, 255).astype(np.uint8)
    x = np.ascontiguousarray(photo.transpose(2, 0, 1)[None], np.float32) / np.float32(255)
    open_app(page, url)
    page.fill("#tile", "256")
    page.fill("#overlap", "32")
    page.set_input_files("#file", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(photo)}])
    # Read the canvas in the page, in the same task that sees tile 6 done (mid-run, one tile into row 2).
    mid = page.wait_for_function(f"""() => {{ const p = document.getElementById('progress');
      const st = document.getElementById('status').dataset.state;
      if (st === 'running' ? p.hidden || p.value < 6 : !['done', 'error', 'cancelled'].includes(st)) return false;
      return ({READ_CANVAS})(); }}""", timeout=60_000, polling=20).json_value()
    page.screenshot(path=str(artifacts / "tiled-progress.png"), full_page=True)
    assert mid["state"] == "running" and mid["total"] == 20 and 6 <= mid["done"] < 16, \
        {k: mid[k] for k in ("state", "done", "total")}
    assert wait_done(page) == "done", page.inner_text("#status")
    assert page.evaluate("[document.getElementById('progress').value, document.getElementById('progress').max]") \
        == [20, 20]
    assert page.inner_text("#progress-text") == "tile 20/20"
    r = result(page)
    assert (r["tiles"], r["tile"], r["overlap"]) == (20, 256, 32)
    np.testing.assert_array_equal(r["input"], x)
    final = to_u8(r["output"])

    # Mid-run: exactly the final parts of the tiles done so far are drawn, with their final values;
    # everything else (later rows included) is still clear.
    ys, _, _ = _axis_plan(768, 256, 32, 8)
    xs, _, _ = _axis_plan(1024, 256, 32, 8)
    ye, xe = [*ys[1:], 768], [*xs[1:], 1024]
    expect = np.zeros((768, 1024), bool)
    for k in range(mid["done"]):
        a, b = divmod(k, len(xs))
        expect[ys[a] if a else 0:ye[a], xs[b] if b else 0:xe[b]] = True
    partial = canvas_rgba(mid)
    drawn = partial[..., 3] == 255
    np.testing.assert_array_equal(drawn, expect)
    assert not partial[~drawn].any()  # transparent black
    np.testing.assert_array_equal(partial[drawn][:, :3], final[drawn])
    assert drawn[100].all() and not drawn[767].any() and partial[100, :, :3].std() > 10  # non-blank content
    # Done: the whole canvas is the 8-bit output.
    whole = canvas_rgba(page.evaluate(READ_CANVAS))
    assert (whole[..., 3] == 255).all()
    np.testing.assert_array_equal(whole[..., :3], final)

    sess = ort.InferenceSession(str(app_dir / "models" / "dncnn-fp32.onnx"), providers=["CPUExecutionProvider"])
    t0 = time.perf_counter()
    ref = tiled(lambda t: sess.run(["output"], {"input": t})[0], x, tile=256, overlap=32)
    py_s = time.perf_counter() - t0
    db = psnr(r["output"], ref)
    print(f"\n1024x768 tiled 256/32 (20 tiles) JS vs Python ORT: {db:.1f} dB; page {r['totalMs'] / 1000:.1f} s "
          f"(inference {r['inferenceMs'] / 1000:.1f} s), Python {py_s:.1f} s; mid-run canvas at tile "
          f"{mid['done']}/20: {drawn.mean():.0%} drawn; screenshot: {artifacts}")
    assert db >= 50
    assert not page.errors


# --- `pngan app` errors: one line, exit 1, no browser needed ---------------------------------------------

def fake_web_dir(root: Path, with_ort: bool = True) -> Path:
    from pngan.webapp import ORT_FILES

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
