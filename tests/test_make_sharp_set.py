"""scripts/make_sharp_set.py: scikit-image's installed images as RGB PNGs, the shipped samples left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pngan.io.images import read_image
from pngan.assets.samples import sample_image


def test_writes_rgb_images_without_the_shipped_samples(load_script, tmp_path, capsys):
    mod = load_script("make_sharp_set")
    out = tmp_path / "sharp"
    assert mod.main(["--out", str(out)]) == 0
    files = sorted(out.glob("*/*.png"))
    assert len(list((out / "train").iterdir())) == len(mod.TRAIN) and len(list((out / "held").iterdir())) == 4
    assert not {Path(f).stem for f in mod.TRAIN} & {Path(f).stem for f in mod.HELD}
    assert not {f.stem for f in files} & {"coffee", "motorcycle_left", "motorcycle_right"}
    shipped = [sample_image(n) for n in ("coffee", "motorcycle")]
    for f in files:
        img = read_image(f)
        assert img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 128, f
        assert all(img.shape != s.shape or not np.allclose(img, s, atol=2 / 255) for s in shipped), f
    before = {f: f.read_bytes() for f in files}
    assert mod.main(["--out", str(out)]) == 2  # a folder with images is refused and left as it was
    assert "not empty" in capsys.readouterr().err
    assert {f: f.read_bytes() for f in sorted(out.glob("*/*.png"))} == before
