"""scripts/make_phone_val.py: seeded phone-level pairs that ``find_pairs`` reads, the same bytes every run."""

from __future__ import annotations

import json

import numpy as np

from pngan.data.pairs import find_pairs
from pngan.io.images import read_image, write_image


def test_phone_val_pairs(load_script, tmp_path):
    mpv = load_script("make_phone_val")
    for i in range(2):
        write_image(tmp_path / "clean" / "groundtruth" / f"scene_{i}_mean.png",
                    np.random.default_rng(i).random((40, 36, 3)).astype(np.float32) * 0.6 + 0.2)
    recs = mpv.make(tmp_path / "clean", tmp_path / "a", seed=0)
    mpv.make(tmp_path / "clean", tmp_path / "b", seed=0)
    pairs = find_pairs(tmp_path / "a")
    assert len(pairs) == len(recs) == 2 * mpv.SAMPLES
    for p in pairs:
        assert (tmp_path / "b" / "input" / p.noisy.name).read_bytes() == p.noisy.read_bytes()
        assert read_image(p.noisy).shape == read_image(p.clean).shape == (40, 36, 3)
    meta = json.loads((tmp_path / "a" / "phone_val.json").read_text())
    assert all(15 <= r["sigma"] <= 40 and 70 <= r["jpeg_quality"] <= 95 for r in meta["pairs"])
    assert all(r["psnr_noisy"] < 33 for r in meta["pairs"])  # phone-level noise, not DSLR
    mpv.make(tmp_path / "clean", tmp_path / "c", seed=1)
    assert (tmp_path / "c" / "input" / pairs[0].noisy.name).read_bytes() != pairs[0].noisy.read_bytes()
