"""Bad input folders and unwritable outputs through the commands that take them.

Empty, image-less, missing or file-not-folder inputs; unicode and spaces in paths; read-only output
folders, outputs that are files, full disks (a real small tmpfs and a simulated ENOSPC) and results that
would overwrite their inputs. Each refusal must be one ``error:`` line naming the file or folder, a
non-zero exit and no traceback; results written before the failure must survive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clirun import assert_ok, assert_refused, pngan, pngan_export
from imagesets import flat_images as _flat

pytestmark = pytest.mark.slow


# --- folders -------------------------------------------------------------------------------------

FOLDER_COMMANDS = {
    "denoise": lambda d, out: pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", out),
    "noise": lambda d, out: pngan("noise", "--sigma", 30, "--input_dir", d, "--result_dir", out),
    "generate": lambda d, out: pngan("generate", "--input_dir", d, "--result_dir", out),
    "export-calib": lambda d, out: pngan_export("--model", "dncnn", "--precision", "int8", "--calib-dir", d,
                                                "--out", out),
}


@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
@pytest.mark.parametrize("kind", ["empty", "non-images", "missing", "is-a-file"])
def test_unusable_input_folder(kind, command, tmp_path):
    d = tmp_path / "in"
    if kind == "empty":
        d.mkdir()
    elif kind == "non-images":
        d.mkdir()
        (d / "notes.txt").write_text("hello")
        (d / "table.csv").write_text("a,b\n1,2\n")
        (d / "sub.png").mkdir()  # a folder with an image suffix is not an image
    elif kind == "is-a-file":
        d.write_text("not a folder")
    o = FOLDER_COMMANDS[command](d, tmp_path / "out")
    assert_refused(o, str(d))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))


def test_unicode_and_spaces_in_paths(tmp_path):
    d = _flat(tmp_path / "données d'entrée" / "图像 set")
    out = tmp_path / "résultats 1" / "sortie #2"
    assert_ok(pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", out))
    assert sorted(p.name for p in out.iterdir()) == ["img0.png", "img1.png"]
    assert_ok(pngan("noise", "--sigma", 30, "--input_dir", d, "--result_dir", out / "n"))
    assert_ok(pngan("eval-noise", "--clean", d, "--real", out, "--fake", out / "n" / "Gaussian_noise_X30"))
    assert_ok(pngan_export("--model", "dncnn", "--out", out / "art ö"))


# --- outputs -------------------------------------------------------------------------------------

@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` unwritable, also for root (``chattr +i``); skip where that is impossible."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)],
                                                        capture_output=True).returncode != 0:
        pytest.skip("running as root and this filesystem has no immutable flag (chattr +i): root ignores modes")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("command", ["denoise", "noise", "generate", "export", "demo"])
def test_read_only_output_folder(command, tmp_path):
    d = _flat(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.png").write_bytes(b"finished work")
    if command == "noise":
        (out / "Gaussian_noise_X30").mkdir()
        out = out / "Gaussian_noise_X30"
        (out / "earlier.png").write_bytes(b"finished work")
    with read_only(out):
        if command == "export":
            o = pngan_export("--model", "dncnn", "--out", out)
        elif command == "demo":
            o = pngan("demo", "--out", out)
        else:
            o = FOLDER_COMMANDS[command](d, out if command != "noise" else out.parent)
        assert_refused(o, str(out), "cannot write")
        assert all(ln.count("cannot write") == 1 for ln in o.errors), o.errors  # said once, not nested
        assert sorted(p.name for p in out.iterdir()) == ["earlier.png"]
        assert (out / "earlier.png").read_bytes() == b"finished work"


def test_output_path_is_a_file(tmp_path):
    d = _flat(tmp_path / "in")
    (tmp_path / "out").write_text("keep me")
    o = pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "out")
    assert_refused(o, "out", "cannot write")
    assert (tmp_path / "out").read_text() == "keep me"


def _noisy_pngs(folder: Path, n: int, side: int = 64) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):  # random pixels: PNG cannot compress them, each file is ~side*side*3 bytes
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


@contextlib.contextmanager
def small_disk(mountpoint: Path, kib: int):
    """A real ``kib``-KiB tmpfs at ``mountpoint``; skip where mounting is not allowed."""
    mountpoint.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(mountpoint)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up ({r.stderr.strip() or 'not root'}); "
                    "test_disk_full_simulated covers the same path")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


def _check_partial_results(out: Path, ref: Path) -> int:
    """Every file in ``out`` is a complete result identical to the reference run; no temp files."""
    names = sorted(p.name for p in out.iterdir())
    assert all(not n.startswith(".") for n in names), names  # no temp file left behind
    for n in names:
        assert np.array_equal(np.asarray(Image.open(out / n)), np.asarray(Image.open(ref / n)))
    return len(names)


def test_disk_full_real_tmpfs(tmp_path):
    d = _noisy_pngs(tmp_path / "in", 8)
    assert_ok(pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "ref"))
    with small_disk(tmp_path / "disk", 48) as out:  # room for 3-4 of the 8 results (~12 KiB each)
        o = pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", out)
        assert_refused(o, "No space left on device", "--skip-existing")
        kept = _check_partial_results(out, tmp_path / "ref")
        assert 0 < kept < 8
        assert f"stopped after writing {kept} of 8" in o.err


def test_disk_full_simulated(tmp_path, monkeypatch):
    """ENOSPC from the encoder after two files (as a nearly full disk gives): same outcome everywhere."""
    d = _noisy_pngs(tmp_path / "in", 5)
    assert_ok(pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "ref"))
    real_save = Image.Image.save
    calls = {"n": 0}

    def save(self, fp, *a, **k):
        calls["n"] += 1
        if calls["n"] > 2:
            Path(fp).write_bytes(b"\x89PNG partial")  # a partial temp file, as a full disk leaves
            raise OSError(28, "No space left on device")
        return real_save(self, fp, *a, **k)

    monkeypatch.setattr(Image.Image, "save", save)
    o = pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "out")
    assert_refused(o, "No space left on device", "stopped after writing 2 of 5")
    assert _check_partial_results(tmp_path / "out", tmp_path / "ref") == 2
    monkeypatch.setattr(Image.Image, "save", real_save)  # space freed: the rerun finishes the rest
    o = pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "out", "--skip-existing")
    assert_ok(o)
    assert "3 denoised images" in o.out and "2 already there" in o.out
    assert _check_partial_results(tmp_path / "out", tmp_path / "ref") == 5


@pytest.mark.parametrize("command", ["denoise", "generate", "noise"])
def test_results_that_would_overwrite_the_inputs_are_refused(command, tmp_path):
    """--result_dir pointing at the input folder would replace the originals: refused before any write."""
    d = _flat(tmp_path / "Gaussian_noise_X30")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = d.parent if command == "noise" else d  # noise writes into RESULT_DIR/Gaussian_noise_X30
    o = FOLDER_COMMANDS[command](d, out)
    assert_refused(o, "results would overwrite 2 input image(s)", "choose another --out")
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
