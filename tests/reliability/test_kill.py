"""SIGKILL in the middle of real work: nothing finished is lost, nothing half-written is visible.

Each test starts the real command as a process, waits until it is demonstrably busy,
kills it with SIGKILL (no handler can run), then checks what is on disk and that a
rerun completes the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from clirun import assert_ok, pngan

pytestmark = pytest.mark.slow

ENV = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}


def _start(module: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ends or times out first."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"process ended (exit {proc.returncode}) before it could be killed: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("process never reached the point to kill it")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_kill_denoise_then_skip_existing_finishes(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(src / f"{i:02d}.png")
    assert_ok(pngan("denoise", "--method", "dncnn", "--input_dir", src, "--result_dir", tmp_path / "ref"))
    out = tmp_path / "out"
    proc = _start("pngan.cli.__main__", "denoise", "--method", "dncnn", "--input_dir", src, "--result_dir", out)
    _kill_when(proc, lambda: out.is_dir() and len(_visible(out)) >= 4)
    done = _visible(out)
    assert 4 <= len(done) < 24, done
    for name in done:  # every visible result is complete and exactly what an uninterrupted run writes
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(tmp_path / "ref" / name)))
    before = {n: (out / n).stat().st_mtime_ns for n in done}
    o = pngan("denoise", "--method", "dncnn", "--input_dir", src, "--result_dir", out, "--skip-existing")
    assert_ok(o)
    assert f"({len(done)} already there)" in o.out
    assert _visible(out) == _visible(tmp_path / "ref")
    assert all((out / n).stat().st_mtime_ns == t for n, t in before.items())  # finished work not redone
    for name in _visible(out):
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(tmp_path / "ref" / name)))


@pytest.mark.parametrize("force", [False, True], ids=["new", "replacing-old"])
def test_kill_export_leaves_no_half_artifact(force, tmp_path):
    pytest.importorskip("openvino", reason="the 'openvino' extra is not installed")
    out = tmp_path / "arts"
    final = out / "openvino-int8"
    old_manifest = None
    if force:  # an older complete artifact is at the destination and must survive the kill
        assert_ok(_export(out))
        old_manifest = (final / "manifest.json").read_bytes()
    proc = _start("pngan.cli.export_cmd", "--model", "dncnn", "--target", "openvino", "--precision", "int8",
                  "--calib-samples", 8, "--out", out, *(["--force"] if force else []))
    # kill once the export is under way: its staging folder exists next to the destination
    _kill_when(proc, lambda: out.is_dir() and any(p.name.startswith(".openvino-int8.") for p in out.iterdir()))
    if force:
        assert (final / "manifest.json").read_bytes() == old_manifest
        assert {p.name for p in final.iterdir()} == {"manifest.json", "model.xml", "model.bin"}
    else:
        assert not final.exists()
    assert _visible(out) == (["openvino-int8"] if force else [])
    assert_ok(_export(out, "--force"))  # leftovers do not block a rerun
    from pngan.runtimes import open_artifact

    with open_artifact(final) as r:
        assert r(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 3, 32, 32)


def _export(out: Path, *extra: str):
    from clirun import pngan_export

    return pngan_export("--model", "dncnn", "--target", "openvino", "--precision", "int8", "--calib-samples", 8,
                        "--out", out, *extra)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_kill_train_from_outside_keeps_last_checkpoint_loadable(delay, tmp_path):
    """Killed from outside with a checkpoint written every step (so often mid-write): last.pt loads, resume ends."""
    from corpus import good_image

    data = tmp_path / "pairs"
    for i in range(2):
        good_image(data / "input" / f"{i}.png", 32, 32, seed=i)
        good_image(data / "groundtruth" / f"{i}.png", 32, 32, seed=i)
    run = tmp_path / "run"
    args = ["train", "denoiser", f"data.train_dir={data}", f"run.out_dir={run}", "model.denoiser_config={features=8}",
            "data.patch=16", "data.batch=2", "run.val_every=0", "run.image_every=0", "run.ckpt_every=1",
            "run.threads=1", "optim.steps=400", "--no-progress"]
    last = run / "checkpoints" / "last.pt"
    proc = _start("pngan.cli.__main__", *args)
    _kill_when(proc, lambda: last.is_file())
    time.sleep(delay)
    proc.kill()
    proc.wait(30)
    step = torch.load(last, weights_only=True)["step"]
    assert 1 <= step < 400
    o = pngan(*args, "optim.steps=" + str(step + 3), "--resume")
    assert_ok(o)
    assert torch.load(last, weights_only=True)["step"] == step + 3
