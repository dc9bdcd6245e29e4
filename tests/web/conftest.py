"""Fixtures for the browser app (examples/web) tests: the built page, its server, headless Chromium, images.

The browser tests need /usr/bin/chromium (Debian's ``chromium``), the ``playwright`` package (dev extra;
its own browser downloads are never used) and ``npm ci`` in examples/web; they skip otherwise.
Screenshots go to ``$PNGAN_TEST_ARTIFACTS`` (default: a ``web-artifacts`` folder under
pytest's tmp path); each test prints where.

The app is built and served once for the session (the three exports are the slow part); each test
module gets its own Playwright and browsers. Plain helpers are in ``webpage.py`` beside this file,
importable by name because this folder goes on ``sys.path`` (pytest runs with importlib mode).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from webpage import ASSET, CHROMIUM, LAUNCH_ARGS, WEBGPU_ARGS, WEBGPU_FLAGS, browser_missing, sync_api  # noqa: E402

from pngan.web.app import build_app, make_server  # noqa: E402


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    env = os.environ.get("PNGAN_TEST_ARTIFACTS")
    folder = Path(env) if env else tmp_path_factory.mktemp("web-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory) -> Path:
    """The page built by ``pngan app --build`` (the three exports), once for the session."""
    if why := browser_missing():
        pytest.skip(why)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the INT8 calibration note
        return build_app(tmp_path_factory.mktemp("web") / "app", echo=lambda _: None).path


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="module")
def images():
    """Coffee (clean) and a noisy 8-bit version of it, as uint8 arrays and float NCHW in [0, 1]."""
    from PIL import Image

    clean = np.asarray(Image.open(ASSET).convert("RGB"))
    rng = np.random.default_rng(0)
    noisy = np.clip(np.round(clean + rng.normal(0, 15, clean.shape)), 0, 255).astype(np.uint8)
    nchw = lambda a: np.ascontiguousarray(a.transpose(2, 0, 1)[None], np.float32) / np.float32(255)  # noqa: E731
    return {"clean": clean, "noisy": noisy, "clean_x": nchw(clean), "noisy_x": nchw(noisy)}
