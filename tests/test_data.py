"""Dataset readers: pairing, SIDD, DND, clean folders and training patches (tiny tmp fixtures)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

import pngan.data.patches as patches_mod
from pngan.data import (
    Pair, PatchDataset, check_pair_sizes, clean_images, collate_patches, dihedral, dnd_boxes,
    find_pairs, iter_dnd_crops, load_sidd_blocks, sidd_block_pairs, sidd_medium_pairs,
    write_dnd_submission,
)
from pngan.errors import ImageError, PnganError
from pngan.io.images import read_image, write_image


def _img(rng: np.random.Generator, h: int = 64, w: int = 64) -> np.ndarray:
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _write(folder: Path, names: list[str], rng: np.random.Generator, h: int = 64, w: int = 64) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        write_image(folder / n, _img(rng, h, w))


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# --- pairs -------------------------------------------------------------------------------

def test_official_layout_identical_names(tmp_path, rng):
    _write(tmp_path / "input", ["0001.png", "0002.png"], rng)
    _write(tmp_path / "groundtruth", ["0002.png", "0001.png"], rng)
    pairs = find_pairs(tmp_path)
    assert [p.id for p in pairs] == ["0001", "0002"]
    assert pairs[0] == Pair("0001", tmp_path / "input/0001.png", tmp_path / "groundtruth/0001.png")


def test_polyu_names_with_extension_mismatch(tmp_path, rng):
    _write(tmp_path / "noisy", ["Canon5D2_chair_real.JPG", "Sony_bag_real.png"], rng)
    _write(tmp_path / "clean", ["Canon5D2_chair_mean.JPG", "Sony_bag_mean.jpg"], rng)
    pairs = find_pairs(tmp_path)
    assert [(p.id, p.noisy.name, p.clean.name) for p in pairs] == [
        ("Canon5D2_chair", "Canon5D2_chair_real.JPG", "Canon5D2_chair_mean.JPG"),
        ("Sony_bag", "Sony_bag_real.png", "Sony_bag_mean.jpg"),
    ]


def test_nam_and_sidd_token_names(tmp_path, rng):
    _write(tmp_path / "input", ["5dmark3_iso3200_1_real.png", "0001_NOISY_SRGB_010.png"], rng)
    _write(tmp_path / "target", ["5dmark3_iso3200_1_mean.png", "0001_GT_SRGB_010.png"], rng)
    assert [p.id for p in find_pairs(tmp_path)] == ["0001_SRGB_010", "5dmark3_iso3200_1"]


def test_sorted_fallback_only_for_official_layout(tmp_path, rng):
    for noisy, clean in (("input", "groundtruth"), ("noisy", "clean")):
        _write(tmp_path / noisy, ["NoisyImg_2.png", "NoisyImg_10.png"], rng)
        _write(tmp_path / clean, ["MeanImg_2.png", "MeanImg_10.png"], rng)
    pairs = find_pairs(tmp_path)  # input/ + groundtruth/ win
    assert [(p.noisy.name, p.clean.name) for p in pairs] == [
        ("NoisyImg_10.png", "MeanImg_10.png"), ("NoisyImg_2.png", "MeanImg_2.png")]
    for d in ("input", "groundtruth"):
        for f in (tmp_path / d).iterdir():
            f.unlink()
        (tmp_path / d).rmdir()
    with pytest.raises(PnganError, match="unmatched noisy NoisyImg_10.png"):
        find_pairs(tmp_path)


def test_sorted_fallback_refuses_different_numbers(tmp_path, rng):
    _write(tmp_path / "input", ["a_1.png", "a_2.png"], rng)
    _write(tmp_path / "groundtruth", ["b_1.png", "b_3.png"], rng)
    with pytest.raises(PnganError):
        find_pairs(tmp_path)


def test_mismatched_counts_and_names_error(tmp_path, rng):
    _write(tmp_path / "input", ["x_real.png", "y_real.png", "z_real.png"], rng)
    _write(tmp_path / "groundtruth", ["x_mean.png", "y_mean.png"], rng)
    with pytest.raises(PnganError) as e:
        find_pairs(tmp_path)
    msg = _one_line(e)
    assert "3 noisy with 2 clean" in msg and "z_real.png" in msg
    _write(tmp_path / "groundtruth", ["w_mean.png"], rng)
    with pytest.raises(PnganError) as e:
        find_pairs(tmp_path)
    assert "z_real.png" in _one_line(e) and "w_mean.png" in str(e.value)


def test_duplicate_keys_error(tmp_path, rng):
    _write(tmp_path / "input", ["x.png", "x.jpg"], rng)
    _write(tmp_path / "groundtruth", ["x.png"], rng)
    with pytest.raises(PnganError, match="same name key 'x'"):
        find_pairs(tmp_path)


def test_empty_and_missing_folders(tmp_path, rng):
    (tmp_path / "input").mkdir()
    (tmp_path / "groundtruth").mkdir()
    with pytest.raises(ImageError, match="no images"):
        find_pairs(tmp_path)
    with pytest.raises(PnganError, match="expected one of input/"):
        find_pairs(tmp_path / "input")
    with pytest.raises(PnganError, match="no such folder"):
        find_pairs(tmp_path / "missing")


def test_check_pair_sizes(tmp_path):
    pair = Pair("a", tmp_path / "a_real.png", tmp_path / "a_mean.png")
    check_pair_sizes(np.zeros((4, 5, 3)), np.zeros((4, 5, 3)), pair)
    with pytest.raises(ImageError) as e:
        check_pair_sizes(np.zeros((4, 5, 3)), np.zeros((4, 6, 3)), pair)
    assert _one_line(e) == "a: noisy a_real.png is 5x4 but clean a_mean.png is 6x4"


# --- SIDD --------------------------------------------------------------------------------

def test_sidd_medium_scene_folders(tmp_path, rng):
    for scene in ("0001_001_S6_00100_00060_3200_L", "0002_001_S6_00100_00020_3200_N"):
        p = scene[:4]
        _write(tmp_path / scene, [f"{p}_NOISY_SRGB_010.PNG", f"{p}_GT_SRGB_010.PNG",
                                  f"{p}_NOISY_SRGB_011.PNG", f"{p}_GT_SRGB_011.PNG"], rng, 8, 8)
    (tmp_path / "0001_001_S6_00100_00060_3200_L" / "0001_NOISY_RAW_010.MAT").write_bytes(b"")
    pairs = sidd_medium_pairs(tmp_path)
    assert [p.id for p in pairs] == ["0001_001_S6_00100_00060_3200_L_010", "0001_001_S6_00100_00060_3200_L_011",
                                     "0002_001_S6_00100_00020_3200_N_010", "0002_001_S6_00100_00020_3200_N_011"]
    assert pairs[0].noisy.name == "0001_NOISY_SRGB_010.PNG" and pairs[0].clean.name == "0001_GT_SRGB_010.PNG"
    (tmp_path / "0001_001_S6_00100_00060_3200_L" / "0001_GT_SRGB_011.PNG").unlink()
    with pytest.raises(PnganError, match="0001_NOISY_SRGB_011.PNG: no matching GT_SRGB_011"):
        sidd_medium_pairs(tmp_path)


def test_sidd_blocks_v5(tmp_path, rng):
    noisy = rng.integers(0, 256, (2, 3, 8, 8, 3), dtype=np.uint8)
    gt = rng.integers(0, 256, (2, 3, 8, 8, 3), dtype=np.uint8)
    scipy.io.savemat(tmp_path / "ValidationNoisyBlocksSrgb.mat", {"ValidationNoisyBlocksSrgb": noisy})
    scipy.io.savemat(tmp_path / "gt.mat", {"ValidationGtBlocksSrgb": gt})
    np.testing.assert_array_equal(load_sidd_blocks(tmp_path / "ValidationNoisyBlocksSrgb.mat"), noisy)
    got = load_sidd_blocks(tmp_path / "gt.mat", "ValidationGtBlocksSrgb")
    assert got.dtype == np.uint8 and got.shape == (2, 3, 8, 8, 3)
    out = list(sidd_block_pairs(tmp_path / "ValidationNoisyBlocksSrgb.mat", tmp_path / "gt.mat"))
    assert [o[0] for o in out][:4] == ["00_00", "00_01", "00_02", "01_00"] and len(out) == 6
    np.testing.assert_allclose(out[4][1], noisy[1, 1] / 255.0, atol=1e-7)
    np.testing.assert_allclose(out[4][2], gt[1, 1] / 255.0, atol=1e-7)
    assert out[0][1].dtype == np.float32
    with pytest.raises(PnganError, match="no variable 'BenchmarkNoisyBlocksSrgb'"):
        load_sidd_blocks(tmp_path / "gt.mat", "BenchmarkNoisyBlocksSrgb")


def _fake_mat73(path: Path) -> None:
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    path.write_bytes(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM" + b"\0" * 384
                     + b"\x89HDF\r\n\x1a\n" + b"\0" * 64)


def test_mat73_without_h5py_names_pip_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py -> ImportError, installed or not
    _fake_mat73(tmp_path / "BenchmarkNoisyBlocksSrgb.mat")
    with pytest.raises(PnganError) as e:
        load_sidd_blocks(tmp_path / "BenchmarkNoisyBlocksSrgb.mat")
    assert "pip install h5py" in _one_line(e) and "BenchmarkNoisyBlocksSrgb.mat" in str(e.value)
    _fake_mat73(tmp_path / "info.mat")
    with pytest.raises(PnganError, match="pip install h5py"):
        dnd_boxes(tmp_path)


# --- DND ---------------------------------------------------------------------------------

def _fake_dnd(root: Path, rng: np.random.Generator, n_images: int = 2) -> list[np.ndarray]:
    """info.mat as MATLAB saves a 1 x n struct array (v5), plus images_srgb/%04d.mat."""
    info = np.empty((1, n_images), dtype=[("boundingboxes", object), ("sigma_srgb", object)])
    images = []
    (root / "images_srgb").mkdir(parents=True)
    for i in range(n_images):
        img = rng.random((40, 48, 3))
        images.append(img)
        scipy.io.savemat(root / "images_srgb" / f"{i + 1:04d}.mat", {"InoisySRGB": img})
        r1 = rng.integers(1, 30, 20)
        c1 = rng.integers(1, 38, 20)
        boxes = np.stack([r1, c1, r1 + 7 + i, c1 + 9], axis=1).astype(np.float64)  # 1-based inclusive
        info[0, i]["boundingboxes"] = boxes
        info[0, i]["sigma_srgb"] = rng.random((1, 20))
    scipy.io.savemat(root / "info.mat", {"info": info})
    return images


def test_dnd_crops_and_submission_round_trip(tmp_path, rng):
    root, out = tmp_path / "dnd", tmp_path / "sub"
    images = _fake_dnd(root, rng)
    boxes = dnd_boxes(root)
    assert len(boxes) == 2 and boxes[0].shape == (20, 4)
    crops = list(iter_dnd_crops(root))
    assert [(i, b) for i, b, _ in crops] == [(i, b) for i in range(2) for b in range(20)]
    i, b, c = crops[23]
    r1, c1, r2, c2 = boxes[1][3]
    assert c.dtype == np.float32 and c.shape == (9, 10, 3)
    np.testing.assert_allclose(c, images[1][r1 - 1:r2, c1 - 1:c2], rtol=1e-6)

    denoised = {(i, b): 0.5 * c for i, b, c in crops}
    bundled = write_dnd_submission(out, denoised, root=root)
    assert bundled == out / "bundled"
    assert sorted(p.name for p in bundled.iterdir()) == ["0001.mat", "0002.mat"]
    assert len(list(out.glob("*_*.mat"))) == 40 and not list(out.rglob(".*"))  # no temp files left
    m = scipy.io.loadmat(bundled / "0002.mat")
    cell = m["Idenoised"]
    assert cell.dtype == object and cell.shape == (1, 20)
    assert cell[0, 3].dtype == np.float32
    np.testing.assert_array_equal(cell[0, 3], denoised[(1, 3)])
    assert m["israw"].item() == 0 and m["eval_version"].item() == "1.0"
    crop = scipy.io.loadmat(out / "0002_04.mat")["Idenoised_crop"]
    np.testing.assert_array_equal(crop, denoised[(1, 3)])


def test_dnd_submission_errors(tmp_path, rng):
    root = tmp_path / "dnd"
    _fake_dnd(root, rng)
    denoised = {(i, b): c for i, b, c in iter_dnd_crops(root)}
    missing = dict(denoised)
    del missing[(1, 19)]
    with pytest.raises(PnganError, match="no crop for image 2 box 20"):
        write_dnd_submission(tmp_path / "sub", missing, root=root)
    wrong = dict(denoised)
    wrong[(0, 0)] = np.zeros((3, 3, 3))
    with pytest.raises(PnganError, match="image 1 box 1: crop is 3x3"):
        write_dnd_submission(tmp_path / "sub", wrong, root=root)
    assert not (tmp_path / "sub").exists()
    with pytest.raises(PnganError, match="no DND info.mat"):
        dnd_boxes(tmp_path)


# --- clean folders -----------------------------------------------------------------------

def test_clean_images(tmp_path, rng):
    _write(tmp_path / "kodak", ["kodim02.png", "kodim01.png"], rng, 8, 8)
    _write(tmp_path / "kodak" / "sub", ["x.jpg"], rng, 8, 8)
    _write(tmp_path / "kodak" / ".cache", ["y.png"], rng, 8, 8)
    (tmp_path / "kodak" / "notes.txt").write_text("x")
    assert [p.name for p in clean_images(tmp_path / "kodak")] == ["kodim01.png", "kodim02.png"]
    assert [p.name for p in clean_images(tmp_path / "kodak", recursive=True)] == ["kodim01.png", "kodim02.png", "x.jpg"]
    (tmp_path / "empty" / "deep").mkdir(parents=True)
    with pytest.raises(ImageError, match="no images"):
        clean_images(tmp_path / "empty", recursive=True)
    with pytest.raises(ImageError, match="no such folder"):
        clean_images(tmp_path / "missing")


# --- training patches --------------------------------------------------------------------

@pytest.fixture
def offset_pairs(tmp_path, rng) -> list[Pair]:
    """noisy = clean + 25/255 exactly (8-bit), so any misaligned crop shows."""
    pairs = []
    for n in range(3):
        clean = rng.integers(0, 200, (40 + 8 * n, 48, 3), dtype=np.uint8)
        write_image(tmp_path / f"{n}_mean.png", clean)
        write_image(tmp_path / f"{n}_real.png", clean + 25)
        pairs.append(Pair(str(n), tmp_path / f"{n}_real.png", tmp_path / f"{n}_mean.png"))
    return pairs


def test_patches_deterministic_per_seed_and_epoch(offset_pairs):
    a = PatchDataset(offset_pairs, 16, patches_per_image=2, seed=7)
    b = PatchDataset(offset_pairs, 16, patches_per_image=2, seed=7)
    x = a[1]
    assert x["noisy"].shape == (2, 3, 16, 16) and x["clean"].dtype == torch.float32
    assert torch.equal(x["noisy"], b[1]["noisy"]) and torch.equal(x["clean"], b[1]["clean"])
    a.set_epoch(1)
    assert not torch.equal(a[1]["clean"], x["clean"])
    b.set_epoch(1)
    assert torch.equal(a[1]["clean"], b[1]["clean"])
    c = PatchDataset(offset_pairs, 16, patches_per_image=2, seed=8)
    assert not torch.equal(c[1]["clean"], x["clean"])


def test_patches_stay_aligned_under_all_transforms(offset_pairs):
    ds = PatchDataset(offset_pairs, 12, patches_per_image=8, seed=0)
    for epoch in range(2):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            np.testing.assert_allclose((item["noisy"] - item["clean"]).numpy(), 25 / 255, atol=1e-6)
    img = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    assert len({dihedral(img, k).tobytes() + bytes(dihedral(img, k).shape) for k in range(8)}) == 8


def test_patches_decode_each_file_once_per_epoch(offset_pairs, monkeypatch):
    calls: list[Path] = []

    def counting(path):
        calls.append(Path(path))
        return read_image(path)

    monkeypatch.setattr(patches_mod, "read_image", counting)
    ds = PatchDataset(offset_pairs, 16, patches_per_image=4)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, shuffle=True, collate_fn=collate_patches)
    batches = list(loader)
    assert sum(b["noisy"].shape[0] for b in batches) == 3 * 4
    assert sorted(calls) == sorted([p.noisy for p in offset_pairs] + [p.clean for p in offset_pairs])


def test_patches_clean_only_and_small_images(tmp_path, rng, offset_pairs):
    ds = PatchDataset([p.clean for p in offset_pairs], 16, seed=1)
    item = ds[0]
    assert list(item) == ["clean"] and item["clean"].shape == (3, 16, 16)
    assert collate_patches([ds[0], ds[1]])["clean"].shape == (2, 3, 16, 16)
    with pytest.raises(ImageError) as e:
        PatchDataset(offset_pairs, 41)[0]
    assert "0_real.png: image is 48x40, smaller than the 41x41 patch" in _one_line(e)
    write_image(tmp_path / "big_mean.png", _img(rng, 48, 48))
    with pytest.raises(ImageError, match="is 48x40 but clean big_mean.png is 48x48"):
        PatchDataset([Pair("m", offset_pairs[0].noisy, tmp_path / "big_mean.png")], 8)[0]
    with pytest.raises(PnganError, match="all Pairs or all clean"):
        PatchDataset([offset_pairs[0], offset_pairs[0].clean], 8)
