"""The browser app's numbers in headless Chromium: parity with Python ONNX Runtime and torch, tiling, WebGPU.

The page's FP32 and INT8 denoisers and its seeded generator against Python (whole and tiled, on WASM and
on WebGPU through SwiftShader), and its tiling plan and progressive drawing against ``pngan.runtimes.tiling``.
Fixtures (the built app, its server, Chromium) are in ``conftest.py``; skips without Chromium (see there).
"""

from __future__ import annotations

import pytest

import re

import numpy as np

from webpage import READ_CANVAS, canvas_rgba, open_app, ort, ort_run, pick, png, psnr, rerun, result, to_u8, wait_done

pytestmark = [pytest.mark.slow, pytest.mark.browser]


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
