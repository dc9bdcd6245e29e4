"""Calibration source (deterministic crops, noise, bad folders) and each framework adapter."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pngan.calibration import CalibrationSource, nncf_dataset, ort_reader
from pngan.errors import ImageError, PnganError


def _folder(tmp_path, sizes=((40, 50), (36, 40))):
    d = tmp_path / "calib"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"im{i}.png")
    return d


def test_deterministic_under_seed_and_shapes(tmp_path):
    d = _folder(tmp_path)
    a = CalibrationSource(d, samples=5, crop=(32, 30), seed=3).pairs
    b = CalibrationSource(d, samples=5, crop=(32, 30), seed=3).pairs
    c = CalibrationSource(d, samples=5, crop=(32, 30), seed=4).pairs
    assert len(a) == 5
    for (xa, ya), (xb, yb) in zip(a, b):
        assert xa.shape == ya.shape == (1, 3, 32, 30) and xa.dtype == np.float32 and xa.flags.c_contiguous
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not all(np.array_equal(x, y) for (x, _), (y, _) in zip(a, c))


def test_noise_is_realistic_and_optional(tmp_path):
    d = _folder(tmp_path)
    noisy = CalibrationSource(d, samples=3, crop=(16, 16)).pairs
    for x, clean in noisy:
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert 0 < np.abs(x - clean).mean() < 0.2
    for x, clean in CalibrationSource(d, samples=3, crop=(16, 16), noise=False).pairs:
        np.testing.assert_array_equal(x, clean)


def test_shipped_samples_are_padded_and_small_user_images_refused(tmp_path):
    s = CalibrationSource(None, samples=2, crop=(300, 64))
    assert s.summary()["source"] == "shipped samples" and s.summary()["images"] >= 1
    assert s.inputs()[0].shape == (1, 3, 300, 64)
    d = _folder(tmp_path, sizes=((10, 12),))
    with pytest.raises(ImageError, match=r"im0.png is 12x10, smaller than the 40x24 calibration crop"):
        CalibrationSource(d, samples=1, crop=(24, 40)).pairs


def test_bad_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no images"):
        CalibrationSource(empty).pairs
    with pytest.raises(ImageError, match="no such folder"):
        CalibrationSource(tmp_path / "missing").pairs
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match="calibration folder: .*broken.png"):
        CalibrationSource(bad).pairs
    with pytest.raises(PnganError, match="calib-samples"):
        CalibrationSource(bad, samples=0)


def test_ort_reader_yields_each_crop_and_rewinds(tmp_path):
    pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader

    src = CalibrationSource(_folder(tmp_path), samples=3, crop=(8, 8))
    r = ort_reader(src, "input")
    assert isinstance(r, CalibrationDataReader) and len(r) == 3
    got = [r.get_next() for _ in range(4)]
    assert got[3] is None and all(set(g) == {"input"} for g in got[:3])
    np.testing.assert_array_equal(got[1]["input"], src.inputs()[1])
    r.rewind()
    np.testing.assert_array_equal(r.get_next()["input"], src.inputs()[0])


def test_nncf_dataset_inputs_and_pairs(tmp_path):
    pytest.importorskip("nncf")
    src = CalibrationSource(_folder(tmp_path), samples=3, crop=(8, 8))
    items = list(nncf_dataset(src).get_inference_data())
    assert len(items) == 3 and items[0].shape == (1, 3, 8, 8)
    np.testing.assert_array_equal(items[2], src.inputs()[2])
    pairs = list(nncf_dataset(src, pairs=True).get_inference_data())
    assert len(pairs[0]) == 2 and pairs[0][1].shape == (1, 3, 8, 8)
