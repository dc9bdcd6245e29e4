"""Bad folders, outputs, weights, artifacts and training inputs through the commands that take them.

Each refusal must be one ``error:`` line naming the file or folder, a non-zero
exit and no traceback; results written before the failure must survive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from badfiles import MARKER, WEIGHTS_CASES
from clirun import assert_ok, assert_refused, pngan, pngan_export
from corpus import TINY_PAIRS, good_image, tiny_pair

WEIGHTS = [pytest.param(make, id=name) for name, make in WEIGHTS_CASES.items()]


def _flat(folder: Path, n: int = 2, size: tuple[int, int] = (24, 32)) -> Path:
    for i in range(n):
        good_image(folder / f"img{i}.png", *size, seed=i)
    return folder


def _paired(root: Path, n: int = 2) -> Path:
    for i in range(n):
        good_image(root / "noisy" / f"{i:02d}.png", seed=i)
        good_image(root / "clean" / f"{i:02d}.png", seed=10 + i)
    return root


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


# --- pairs ---------------------------------------------------------------------------------------

def test_mismatched_pair_sizes(tmp_path):
    root = _paired(tmp_path / "set")
    good_image(root / "clean" / "01.png", 20, 30)  # 30x20 reference for a 32x24 noisy image
    o = pngan("denoise", "--method", "dncnn", "--input_dir", root, "--result_dir", tmp_path / "out")
    assert_refused(o, "01: noisy 32x24 and clean 30x20 differ in size")
    assert [p.name.split("_")[0] for p in (tmp_path / "out").glob("*.png")] == ["00"]  # the good pair is kept
    o = pngan("eval-noise", "--clean", root / "clean", "--real", root / "noisy", "--fake", root / "noisy")
    assert_refused(o, "size mismatch", "01.png")


def test_unpaired_names(tmp_path):
    root = _paired(tmp_path / "set")
    good_image(root / "noisy" / "02_extra.png")
    o = pngan("denoise", "--method", "dncnn", "--input_dir", root, "--result_dir", tmp_path / "out")
    assert_refused(o, "02_extra")
    o = pngan("eval-noise", "--clean", root / "clean", "--real", root / "noisy", "--fake", root / "noisy")
    assert_refused(o, "02_extra")


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


# --- weights -------------------------------------------------------------------------------------

def _refused_without_running(o, path: Path, cwd: Path) -> None:
    assert_refused(o, path.name)
    assert not (cwd / MARKER).exists(), "the pickle payload ran"


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_denoise(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    o = pngan("denoise", "--method", "dncnn", "--weights", w, "--input_dir", _flat(tmp_path / "in"),
              "--result_dir", tmp_path / "out")
    _refused_without_running(o, w, tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_export(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    o = pngan_export("--model", "dncnn", "--weights", w, "--out", tmp_path / "art")
    _refused_without_running(o, w, tmp_path)
    assert not (tmp_path / "art" / "onnx-fp32").exists()


@pytest.mark.parametrize("make", WEIGHTS)
def test_bad_weights_generate(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = make(tmp_path)
    if w.name == "denoiser.safetensors":  # SMNet-s weights are exactly right for generate
        from pngan.models.shipped import default_weights

        w = tmp_path / "dncnn.safetensors"
        shutil.copy(default_weights("dncnn"), w)  # a denoiser is not a generator
    o = pngan("generate", "--weights", w, "--input_dir", _flat(tmp_path / "in"), "--result_dir", tmp_path / "out")
    _refused_without_running(o, w, tmp_path)


# --- artifacts -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, export_tiny_dncnn):
    """A good fp32 and fp16 ONNX export of a tiny DnCNN (made once; tests copy them)."""
    from pngan.export import export

    root = tmp_path_factory.mktemp("arts")
    net, weights, arts = export_tiny_dncnn(root)
    fp16 = export(net, "onnx", root / "arts", weights=weights, precision="fp16")
    return arts["onnx"], fp16


def _break(kind: str, folder: Path) -> str:
    """Damage one artifact folder; returns what the error must mention."""
    m = json.loads((folder / "manifest.json").read_text())
    if kind == "corrupted-onnx":
        model = folder / m["artifact"]
        model.write_bytes(model.read_bytes()[:300])
        return "corrupted ONNX"
    if kind == "manifest-lies-precision":
        (folder / "manifest.json").write_text(json.dumps({**m, "precision": "fp32"}))
        return "says precision fp32 but model.onnx holds a fp16 model"
    if kind == "manifest-unknown-precision":
        (folder / "manifest.json").write_text(json.dumps({**m, "precision": "int4"}))
        return "unknown precision 'int4'"
    if kind == "manifest-not-json":
        (folder / "manifest.json").write_text("{'model': dncnn")
        return "corrupted manifest"
    if kind == "manifest-is-a-list":
        (folder / "manifest.json").write_text("[1, 2]")
        return "corrupted manifest"
    if kind == "model-file-missing":
        (folder / m["artifact"]).unlink()
        return "file is missing"
    if kind == "manifest-missing":
        (folder / "manifest.json").unlink()
        return "no manifest.json"
    raise AssertionError(kind)


ARTIFACT_CASES = ["corrupted-onnx", "manifest-lies-precision", "manifest-unknown-precision", "manifest-not-json",
                  "manifest-is-a-list", "model-file-missing", "manifest-missing"]


@pytest.mark.parametrize("kind", ARTIFACT_CASES)
def test_broken_artifact_in_parity(kind, artifacts, tmp_path):
    fp32, fp16 = artifacts
    root = tmp_path / "arts"
    shutil.copytree(fp32, root / "good")
    shutil.copytree(fp16, root / "broken")
    needle = _break(kind, root / "broken")
    o = pngan("parity", "--artifacts", root, "--json", tmp_path / "r.json", "--sizes", "32",
              "--latency-sizes", "32", "--repeats", 1)
    assert o.escaped is None and o.code == 1 and "Traceback" not in o.err
    report = json.loads((tmp_path / "r.json").read_text())
    status = {Path(e["artifact"]).name: e for e in report["artifacts"]}
    assert status["good"]["status"] == "pass"  # the good artifact is still checked
    assert status["broken"]["status"] == "error" and needle in status["broken"]["message"]


@pytest.mark.parametrize("kind", ARTIFACT_CASES)
def test_broken_artifact_when_opened(kind, artifacts, tmp_path):
    from pngan.errors import PnganError
    from pngan.runtimes import open_artifact

    folder = tmp_path / "a"
    shutil.copytree(artifacts[1], folder)
    needle = _break(kind, folder)
    with pytest.raises(PnganError) as e:
        open_artifact(folder)
    assert needle in str(e.value) and "\n" not in str(e.value)


# --- training ------------------------------------------------------------------------------------

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
        "data.batch=2", "run.val_every=0", "run.image_every=0", "optim.steps=2", "run.ckpt_every=1", "--no-progress"]


@pytest.fixture
def train_pairs(tmp_path) -> Path:
    root = tmp_path / "pairs"
    for i in range(2):
        good_image(root / "input" / f"{i}.png", 32, 32, seed=i)
        good_image(root / "groundtruth" / f"{i}.png", 32, 32, seed=i)
    return root


def test_train_data_with_a_corrupt_image(train_pairs, tmp_path):
    (train_pairs / "groundtruth" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    o = pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={tmp_path / 'run'}", *TINY)
    assert_refused(o, "1.png", "cannot decode")


def test_train_malformed_config(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[optim]\nsteps = = 3\n")
    assert_refused(pngan("train", "pngan", "--config", cfg), "bad.toml")


@pytest.mark.parametrize("damage", ["truncated", "malicious", "garbage"])
def test_train_resume_from_a_bad_checkpoint(damage, train_pairs, tmp_path, monkeypatch):
    from badfiles import Payload
    import torch

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert_ok(pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={run}", *TINY))
    last = run / "checkpoints" / "last.pt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[:5000])
    elif damage == "malicious":
        torch.save({"state": Payload(), "step": 1}, last)
    else:
        last.write_text("not a checkpoint")
    before = last.read_bytes()
    o = pngan("train", "pngan", f"data.train_dir={train_pairs}", f"run.out_dir={run}", *TINY, "optim.steps=3",
              "--resume")
    _refused_without_running(o, last, tmp_path)
    assert last.read_bytes() == before  # the evidence is not overwritten


@pytest.mark.parametrize("damage", ["corrupt-noisy-image", "mismatched-pair"])
def test_parity_data_with_a_bad_pair(damage, artifacts, tmp_path):
    """A parity report over a data set with a bad pair would be wrong: refused, naming the pair."""
    root = _paired(tmp_path / "set")
    if damage == "corrupt-noisy-image":
        (root / "noisy" / "01.png").write_bytes(b"junk")
        needle = "01.png: cannot decode"
    else:
        good_image(root / "noisy" / "01.png", 20, 32)
        needle = "noisy 01.png is 32x20 but clean 01.png is 32x24"
    o = pngan("parity", "--artifacts", artifacts[0], "--data", root, "--json", tmp_path / "r.json",
              "--sizes", "32", "--latency-sizes", "32", "--repeats", 1)
    assert_refused(o, needle)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("model", ["dncnn", "smnet-s"])
def test_weights_that_output_nan_are_reported_per_image(model, tmp_path):
    """Broken weights (NaN) give NaN outputs: each image is refused by name, nothing garbage is written."""
    import torch
    from safetensors.torch import load_file, save_file

    from pngan.models.shipped import default_weights
    from pngan.models.weights import read_metadata

    sd = load_file(default_weights(model))
    first = next(iter(sd))
    sd[first] = torch.full_like(sd[first], float("nan"))
    w = tmp_path / "nan.safetensors"
    save_file(sd, str(w), metadata={"pngan": json.dumps(read_metadata(default_weights(model)))})
    d, out = _flat(tmp_path / "in"), tmp_path / "out"
    if model == "dncnn":
        o = pngan("denoise", "--method", "dncnn", "--weights", w, "--input_dir", d, "--result_dir", out)
    else:
        o = pngan("generate", "--weights", w, "--input_dir", d, "--result_dir", out)
    assert_refused(o, "img0.png: ", "img1.png: ", "NaN", "2 of 2 images failed")
    assert not any(out.glob("*.png"))


@pytest.mark.parametrize("command", ["denoise", "generate", "noise"])
def test_results_that_would_overwrite_the_inputs_are_refused(command, tmp_path):
    """--result_dir pointing at the input folder would replace the originals: refused before any write."""
    d = _flat(tmp_path / "Gaussian_noise_X30")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = d.parent if command == "noise" else d  # noise writes into RESULT_DIR/Gaussian_noise_X30
    o = FOLDER_COMMANDS[command](d, out)
    assert_refused(o, "results would overwrite 2 input image(s)", "choose another --out")
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


# --- tiny pairs ----------------------------------------------------------------------------------

TINY_PAIR_CASES = [pytest.param(*t, id=t[0]) for t in TINY_PAIRS]
SSIM_WINDOW = {"paper": 11, "skimage": 7}  # 11x11 Gaussian (paper), 7x7 uniform (scikit-image)


@pytest.mark.parametrize("metrics", ["paper", "skimage"])
@pytest.mark.parametrize("name,h,w", TINY_PAIR_CASES)
def test_denoise_paired_with_a_tiny_pair(name, h, w, metrics, tmp_path):
    """A pair smaller than the SSIM window is denoised and scored (PSNR; SSIM n/a with a warning), the rest too."""
    import csv

    root = _paired(tmp_path / "set")
    tiny_pair(root, name, h, w)
    out = tmp_path / "out"
    o = pngan("denoise", "--method", "dncnn", "--input_dir", root, "--result_dir", out, "--metrics", metrics)
    assert_ok(o)
    assert not [ln for ln in o.err.splitlines() if ln.strip() and not ln.startswith("warning:")], o.err
    written = {p.name.split("_")[0]: p for p in out.glob("*.png")}
    assert sorted(written) == sorted(["00", "01", name.split("_")[0]])
    with Image.open(written[name.split("_")[0]]) as im:
        assert im.size == (w, h)
    rows = {r["id"]: r for r in csv.DictReader((out / "metrics.csv").open())}
    assert set(rows) == {"00", "01", name}
    assert all(np.isfinite(float(rows[name][k])) for k in ("psnr", "noisy_psnr"))
    if min(h, w) < SSIM_WINDOW[metrics]:
        assert rows[name]["ssim"] == rows[name]["noisy_ssim"] == ""
        assert any(ln.startswith("warning:") and name in ln and "SSIM" in ln for ln in o.err.splitlines()), o.err
    else:
        assert -1 <= float(rows[name]["ssim"]) <= 1
    assert all(rows[i]["ssim"] != "" for i in ("00", "01"))  # the other pairs keep their SSIM


@pytest.mark.parametrize("name,h,w", TINY_PAIR_CASES)
def test_eval_noise_with_a_tiny_pair(name, h, w, tmp_path):
    """A pair below the noise statistics' 16x16 (AKLD's 7x7 window, lags to 3, 8x8 blocks): one line naming it."""
    root = _paired(tmp_path / "set")
    tiny_pair(root, name, h, w)
    for i, stem in enumerate(("00", "01", name)):  # fakes: other noise than the real images
        img = np.asarray(Image.open(root / "noisy" / f"{stem}.png"))
        good_image(tmp_path / "fake" / f"{stem}.png", *img.shape[:2], seed=40 + i)
    o = pngan("eval-noise", "--clean", root / "clean", "--real", root / "noisy", "--fake", tmp_path / "fake",
              "--json", tmp_path / "akld.json")
    assert_refused(o, name, f"{w}x{h}", "16x16")
    assert not (tmp_path / "akld.json").exists()


@pytest.mark.parametrize("name,h,w", TINY_PAIR_CASES)
def test_parity_data_with_a_tiny_pair(name, h, w, artifacts, tmp_path):
    """A pair below the artifact's minimum input: scored without it (saying so) or an error naming the pair."""
    root = _paired(tmp_path / "set")
    tiny_pair(root, name, h, w)
    o = pngan("parity", "--artifacts", artifacts[0], "--data", root, "--json", tmp_path / "r.json",
              "--sizes", "32", "--latency-sizes", "32", "--repeats", 1)
    assert o.escaped is None and "Traceback" not in o.err + o.out
    if o.code == 0:
        assert name in (tmp_path / "r.json").read_text() or name in o.out + o.err  # the skip is reported
    else:
        assert o.code == 1 and any(name in ln for ln in o.errors), f"the error does not name the pair: {o.errors}"
