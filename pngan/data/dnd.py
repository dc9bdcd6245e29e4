"""DND (Darmstadt Noise Dataset) sRGB benchmark: crops in, official submission ``.mat`` files out.

Layout and format follow the official submission kit (``dnd_denoise.py``,
``bundle_submissions.py`` by T. Plötz):

* ``root/info.mat``: struct ``info``, one element per image; ``boundingboxes`` is a
  20 x 4 array of 1-based inclusive ``[row1, col1, row2, col2]``. The released file is
  MAT v7.3 (read with h5py: ``f[f['info']['boundingboxes'][0][i]]`` transposed); MAT v5
  (scipy, ``info[0, i]['boundingboxes']``) is accepted too.
* ``root/images_srgb/%04d.mat``: ``InoisySRGB``, float (H, W, 3) in [0, 1].
* crop = ``Inoisy[row1-1:row2, col1-1:col2, :]``.
* submission: ``out/%04d_%02d.mat`` with ``Idenoised_crop`` (float32 crop), then the bundle
  ``out/bundled/%04d.mat`` with ``Idenoised`` (1 x 20 cell of crops), ``israw`` (false)
  and ``eval_version`` ("1.0"); the content of ``bundled/`` is what gets uploaded.

Indices in this module are 0-based; file names are 1-based as in the kit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from pngan.io.atomic import atomic_path
from pngan.data.matfile import is_mat73, load_mat_v5, mat_variable, open_mat73
from pngan.errors import PnganError

BOXES_PER_IMAGE = 20
EVAL_VERSION = "1.0"


def _info_path(root: Path) -> Path:
    p = root / "info.mat"
    if not p.is_file():
        raise PnganError(f"{root}: no DND info.mat (expected {p})")
    return p


def dnd_boxes(root: str | os.PathLike) -> list[np.ndarray]:
    """Per image, its int64 (n_boxes, 4) 1-based inclusive ``[r1, c1, r2, c2]`` boxes."""
    p = _info_path(Path(root))
    if is_mat73(p):
        with open_mat73(p) as f:
            refs = np.asarray(f["info"]["boundingboxes"]).ravel()
            boxes = [np.asarray(f[ref]).T for ref in refs]
    else:
        info = np.asarray(mat_variable(load_mat_v5(p), "info", p))
        if info.dtype.names is None or "boundingboxes" not in info.dtype.names:
            raise PnganError(f"{p}: 'info' is not a struct with a 'boundingboxes' field")
        boxes = [np.asarray(e["boundingboxes"]) for e in info.ravel()]
    out = []
    for i, b in enumerate(boxes):
        b = np.squeeze(b) if b.ndim > 2 else b
        if b.ndim != 2 or b.shape[1] != 4:
            raise PnganError(f"{p}: image {i + 1}: bounding boxes shaped {b.shape}, expected (n, 4)")
        out.append(np.rint(b).astype(np.int64))
    if not out:
        raise PnganError(f"{p}: no images in info")
    return out


def load_dnd_image(root: str | os.PathLike, index: int) -> np.ndarray:
    """Noisy sRGB image ``index`` (0-based) as float32 (H, W, 3)."""
    p = Path(root) / "images_srgb" / f"{index + 1:04d}.mat"
    if not p.is_file():
        raise PnganError(f"{p}: DND image file missing")
    if is_mat73(p):
        with open_mat73(p) as f:
            if "InoisySRGB" not in f:
                raise PnganError(f"{p}: no variable 'InoisySRGB'")
            img = np.asarray(f["InoisySRGB"]).T
    else:
        img = np.asarray(mat_variable(load_mat_v5(p), "InoisySRGB", p))
    if img.ndim != 3 or img.shape[2] != 3:
        raise PnganError(f"{p}: InoisySRGB shaped {img.shape}, expected (H, W, 3)")
    return np.ascontiguousarray(img, dtype=np.float32)


def iter_dnd_crops(root: str | os.PathLike) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(image_index, box_index, noisy_crop)`` (0-based, float32 (h, w, 3)), images in order."""
    for i, boxes in enumerate(dnd_boxes(root)):
        img = load_dnd_image(root, i)
        h, w = img.shape[:2]
        for b, (r1, c1, r2, c2) in enumerate(boxes):
            if not (1 <= r1 <= r2 <= h and 1 <= c1 <= c2 <= w):
                raise PnganError(f"DND image {i + 1} box {b + 1} [{r1} {c1} {r2} {c2}] "
                                 f"is outside the {h}x{w} image")
            yield i, b, np.ascontiguousarray(img[r1 - 1:r2, c1 - 1:c2, :])


def _savemat(path: Path, data: dict[str, Any]) -> None:
    import scipy.io

    with atomic_path(path) as tmp:
        scipy.io.savemat(tmp, data)


def _crop(arr: Any, i: int, b: int) -> np.ndarray:
    if hasattr(arr, "detach"):  # torch tensor
        arr = arr.detach().cpu().numpy()
    a = np.asarray(arr, dtype=np.float32)
    if a.ndim != 3 or a.shape[2] != 3:
        raise PnganError(f"DND image {i + 1} box {b + 1}: denoised crop shaped {a.shape}, expected (h, w, 3)")
    return np.ascontiguousarray(a)


def write_dnd_submission(out_dir: str | os.PathLike, denoised: Mapping[tuple[int, int], Any],
                         root: str | os.PathLike | None = None,
                         boxes_per_image: int = BOXES_PER_IMAGE) -> Path:
    """Write the official sRGB submission; return the ``bundled/`` folder to upload.

    ``denoised[(i, b)]`` is the (h, w, 3) denoised crop of image ``i``, box ``b`` (0-based).
    Every image ``0..max(i)`` needs all its boxes. With ``root`` the image count and each
    crop's size are checked against ``info.mat`` (the real benchmark has 50 images).
    Each file is written atomically (temp file in the same folder, then renamed).
    """
    if not denoised:
        raise PnganError("no denoised DND crops to write")
    boxes = dnd_boxes(root) if root is not None else None
    n_images = len(boxes) if boxes is not None else max(i for i, _ in denoised) + 1
    crops: dict[tuple[int, int], np.ndarray] = {}
    for i in range(n_images):
        n_boxes = len(boxes[i]) if boxes is not None else boxes_per_image
        for b in range(n_boxes):
            if (i, b) not in denoised:
                raise PnganError(f"DND submission incomplete: no crop for image {i + 1} box {b + 1}")
            c = _crop(denoised[(i, b)], i, b)
            if boxes is not None:
                r1, c1, r2, c2 = boxes[i][b]
                if c.shape[:2] != (r2 - r1 + 1, c2 - c1 + 1):
                    raise PnganError(f"DND image {i + 1} box {b + 1}: crop is {c.shape[0]}x{c.shape[1]}, "
                                     f"box is {r2 - r1 + 1}x{c2 - c1 + 1}")
            crops[(i, b)] = c
    extra = sorted(set(denoised) - set(crops))
    if extra:
        raise PnganError(f"DND submission has crops beyond the dataset, e.g. image {extra[0][0] + 1} "
                         f"box {extra[0][1] + 1}")
    out = Path(out_dir)
    bundled = out / "bundled"
    for i in range(n_images):
        n_boxes = sum(1 for (j, _) in crops if j == i)
        cell = np.empty((n_boxes,), dtype=object)
        for b in range(n_boxes):
            _savemat(out / f"{i + 1:04d}_{b + 1:02d}.mat", {"Idenoised_crop": crops[(i, b)]})
            cell[b] = crops[(i, b)]
        _savemat(bundled / f"{i + 1:04d}.mat",
                 {"Idenoised": cell, "israw": False, "eval_version": EVAL_VERSION})
    return bundled
