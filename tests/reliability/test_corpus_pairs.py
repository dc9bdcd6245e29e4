"""Bad noisy/clean pairs through the commands that pair images: denoise, eval-noise and parity's --data.

Mismatched sizes, unpaired names, a corrupt image in a pair, and pairs too small for SSIM's window,
the noise statistics or an artifact's minimum input. Each refusal must be one ``error:`` line naming
the pair, a non-zero exit and no traceback; the good pairs are still processed where the command can.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clirun import assert_ok, assert_refused, pngan
from corpus import TINY_PAIRS, good_image, tiny_pair
from imagesets import paired_images as _paired

pytestmark = pytest.mark.slow


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
