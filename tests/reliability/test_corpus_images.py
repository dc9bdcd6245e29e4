"""Every awkward image of the corpus through every command that reads images.

"ok" files are processed (a one-line warning at most) and give an output of the
right size; "bad" files get a one-line error naming the file, a non-zero exit,
and the good file beside them is still processed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clirun import assert_ok, assert_refused, pngan, pngan_export
from corpus import IMAGE_CASES, ImageCase, good_image

from pngan.errors import ImageError
from pngan.io.images import read_image

pytestmark = pytest.mark.slow

CASES = [pytest.param(c, id=c.name) for c in IMAGE_CASES]
BAD = [pytest.param(c, id=c.name) for c in IMAGE_CASES if c.expect == "bad"]


def _folder(tmp_path: Path, case: ImageCase) -> Path:
    d = tmp_path / "in"
    good_image(d / "good.png")
    case.make(d / case.filename)
    return d


def _stem(case: ImageCase) -> str:
    return Path(case.filename).stem


@pytest.mark.parametrize("case", CASES)
def test_read_image(case: ImageCase, tmp_path):
    case.make(tmp_path / case.filename)
    if case.expect == "bad":
        with pytest.raises(ImageError, match=case.filename.split(".")[0]):
            read_image(tmp_path / case.filename)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = read_image(tmp_path / case.filename)
    assert img.shape == (*case.shape, 3) and img.dtype == np.float32
    assert np.isfinite(img).all() and 0 <= img.min() and img.max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    """The stored image has a white band on its left; rotated 90 degrees clockwise it is on top."""
    case = next(c for c in IMAGE_CASES if c.name == "exif-rotated-jpeg")
    case.make(tmp_path / case.filename)
    img = read_image(tmp_path / case.filename)
    assert img[:6].mean() > 0.95 and img[10:].mean() < 0.8


@pytest.mark.parametrize("case", CASES)
def test_denoise(case: ImageCase, tmp_path):
    d = _folder(tmp_path, case)
    o = pngan("denoise", "--method", "dncnn", "--input_dir", d, "--result_dir", tmp_path / "out")
    assert (tmp_path / "out" / "good.png").is_file()  # the good file is always done
    if case.expect == "bad":
        assert_refused(o, case.filename, "1 of 2 images failed")
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]
    else:
        assert_ok(o)
        out = np.asarray(Image.open(tmp_path / "out" / f"{_stem(case)}.png"))
        assert out.shape == (*case.shape, 3)


@pytest.mark.parametrize("case", CASES)
def test_noise(case: ImageCase, tmp_path):
    d = _folder(tmp_path, case)
    o = pngan("noise", "--sigma", 30, "--input_dir", d, "--result_dir", tmp_path / "out")
    done = tmp_path / "out" / "Gaussian_noise_X30"
    assert (done / "good.png").is_file()
    if case.expect == "bad":
        assert_refused(o, case.filename)
    else:
        assert_ok(o)
        assert np.asarray(Image.open(done / f"{_stem(case)}.png")).shape == (*case.shape, 3)


@pytest.mark.parametrize("case", CASES)
def test_generate(case: ImageCase, tmp_path):
    d = _folder(tmp_path, case)
    o = pngan("generate", "--input_dir", d, "--result_dir", tmp_path / "out")
    assert (tmp_path / "out" / "good.png").is_file()
    if case.expect == "bad":
        assert_refused(o, case.filename)
    else:
        assert_ok(o)
        assert np.asarray(Image.open(tmp_path / "out" / f"{_stem(case)}.png")).shape == (*case.shape, 3)


@pytest.mark.parametrize("case", BAD)
def test_eval_noise_refuses_bad_real_image(case: ImageCase, tmp_path):
    """AKLD over a set with an unreadable image would be wrong: the whole run fails and says which file."""
    stem = _stem(case)
    good_image(tmp_path / "clean" / f"{stem}.png")
    good_image(tmp_path / "fake" / f"{stem}.png", seed=7)
    (tmp_path / "real").mkdir()
    case.make(tmp_path / "real" / case.filename)
    o = pngan("eval-noise", "--clean", tmp_path / "clean", "--real", tmp_path / "real", "--fake", tmp_path / "fake",
              "--json", tmp_path / "akld.json")
    assert_refused(o, case.filename)
    assert not (tmp_path / "akld.json").exists()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in IMAGE_CASES
                                  if c.name in ("truncated-png", "text-as-png")])
def test_export_calibration_folder_with_a_bad_image(case: ImageCase, tmp_path):
    """INT8 calibration on a folder with an unreadable image stops before writing anything and names the file."""
    d = _folder(tmp_path, case)
    o = pngan_export("--model", "dncnn", "--precision", "int8", "--calib-dir", d, "--calib-samples", 2,
                     "--out", tmp_path / "art")
    assert_refused(o, case.filename, "calibration folder")
    assert not (tmp_path / "art" / "onnx-int8").exists()


TRAIN_TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
              "data.batch=2", "optim.steps=1", "run.val_every=0", "run.image_every=0", "--no-progress"]


@pytest.mark.parametrize("case", BAD + [pytest.param(c, id=c.name) for c in IMAGE_CASES
                                        if c.name in ("one-pixel", "three-by-five")])
def test_train_refuses_unusable_training_images(case: ImageCase, tmp_path):
    """A training set with an unreadable image, or one smaller than the patch, stops before step 1."""
    root = tmp_path / "pairs"
    good_image(root / "input" / "a.png", 32, 32)
    good_image(root / "groundtruth" / "a.png", 32, 32, seed=6)
    case.make(root / "input" / f"b{Path(case.filename).suffix}")
    good_image(root / "groundtruth" / "b.png", *(case.shape or (32, 32)))
    o = pngan("train", "pngan", f"data.train_dir={root}", f"run.out_dir={tmp_path / 'run'}", *TRAIN_TINY)
    assert_refused(o, "smaller than patch 16" if case.expect == "ok" else f"b{Path(case.filename).suffix}")
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()
