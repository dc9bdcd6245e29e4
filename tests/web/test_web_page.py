"""The browser app's page in headless Chromium: the opening sample, bad input, failed loads, progress and cancel.

What a user sees: the shipped sample processed on opening, a picked photo replacing it, one-line
messages for files, settings and models that cannot be used, and tile progress with Cancel on a big photo.
Fixtures (the built app, its server, Chromium) are in ``conftest.py``; skips without Chromium (see there).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from webpage import READ_CANVAS, canvas_rgba, open_app, pick, png, psnr, rerun, result, wait_done

pytestmark = [pytest.mark.slow, pytest.mark.browser]


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
