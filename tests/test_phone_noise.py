"""Phone noise (pngan.noise.phone): the fit recovers known parameters, draws are seeded, bad pairs are refused,
and scripts/make_phone_pairs.py writes a readable folder whole or not at all."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from pngan.errors import PnganError
from pngan.noise.phone import (PhoneNoiseParams, add_phone_noise, blur_for_lag1, fit_phone_noise, lag1,
                               phone_field)


def _clean(seed: int, h: int = 96, w: int = 112) -> np.ndarray:
    """A smooth colour image away from 0 and 1 (no clipping of the noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.3 + 0.4 * np.stack([x, y, (x + y) / 2], -1)
    return (base + 0.05 * rng.random(3)).astype(np.float32)


TRUE = PhoneNoiseParams(12.0, (1.3, 1.0, 1.6), blur=0.8, rho=0.3)


def _pairs(params: PhoneNoiseParams = TRUE, n: int = 6):
    clean = [_clean(i) for i in range(n)]
    return clean, [add_phone_noise(c, 100 + i, params) for i, c in enumerate(clean)]


def test_fit_recovers_the_parameters_of_known_noise():
    fit = fit_phone_noise(*_pairs())
    assert fit.ratios == pytest.approx(TRUE.ratios, rel=0.06)
    assert fit.blur == pytest.approx(TRUE.blur, abs=0.1)
    assert fit.rho == pytest.approx(TRUE.rho, abs=0.08)
    lo, hi = fit.green_std_range
    assert 10.5 < lo <= hi < 13.5 and fit.images == 6


def test_fit_tells_white_from_correlated_and_levels_apart():
    white = fit_phone_noise(*_pairs(PhoneNoiseParams(12.0, (1.0, 1.0, 1.0), blur=0.0, rho=0.0)))
    assert white.blur < 0.3 and abs(white.rho) < 0.05 and white.ratios == pytest.approx((1, 1, 1), rel=0.05)
    strong = fit_phone_noise(*_pairs(PhoneNoiseParams(30.0, TRUE.ratios, TRUE.blur, TRUE.rho)))
    assert strong.green_std_range[0] > 25


def test_blur_for_lag1_inverts_the_field():
    for target in (0.2, 0.44, 0.7):
        blur = blur_for_lag1(target)
        got = lag1(phone_field((192, 192), 3, blur, 0.0))
        assert got == pytest.approx(target, abs=0.03)
    assert blur_for_lag1(0.0) == 0.0
    with pytest.raises(PnganError, match="lag-1"):
        blur_for_lag1(0.99)


def test_noise_is_seeded_quantized_and_clipped():
    c = _clean(0)
    a, b, other = (add_phone_noise(c, s, TRUE) for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, other)
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-4) and a.min() >= 0 and a.max() <= 1
    e = (a - c)[..., 1] * 255
    assert e.std() == pytest.approx(12.0, rel=0.15)
    dark = add_phone_noise(np.zeros_like(c), 1, TRUE)
    assert dark.min() == 0.0 and dark.mean() > 0  # clipped at black, not wrapped


@pytest.mark.parametrize("make, msg", [
    (lambda c: (c, c.copy()), "no noise"),
    (lambda c: (np.ones_like(c), np.ones_like(c)), "saturated"),
    (lambda c: (c, c[:-1]), "same size"),
    (lambda c: (c[:8, :8], c[:8, :8]), "16 px"),
    (lambda c: (c[..., :1], c[..., :1]), "H x W x 3"),
])
def test_bad_pairs_are_one_clear_error(make, msg):
    clean, noisy = make(_clean(1))
    with pytest.raises(PnganError, match=msg):
        fit_phone_noise([clean], [noisy])
    with pytest.raises(PnganError, match="at least one"):
        fit_phone_noise([], [])


def test_bad_params_are_refused():
    for bad in (dict(green_std=-1), dict(green_std=5, rho=1.0), dict(green_std=5, ratios=(1, 0, 1))):
        with pytest.raises(PnganError, match="phone noise needs"):
            PhoneNoiseParams(**bad)


def _write_pairs(root, clean, noisy):
    from pngan.io.images import write_image

    for i, (c, n) in enumerate(zip(clean, noisy)):
        write_image(root / "groundtruth" / f"p{i}_GT.png", c)
        write_image(root / "input" / f"p{i}_NOISY.png", n)


def _digest(folder) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


def test_make_phone_pairs_writes_the_same_readable_folder_twice(tmp_path, load_script):
    from pngan.data import find_pairs
    from pngan.io.images import write_image

    mpp = load_script("make_phone_pairs")
    _write_pairs(tmp_path / "fit", *_pairs(n=3))
    for i in range(3):
        write_image(tmp_path / "clean" / f"c{i}.png", _clean(10 + i))
    rec = mpp.make(tmp_path / "fit", [tmp_path / "clean"], tmp_path / "a", seed=0)
    mpp.make(tmp_path / "fit", [tmp_path / "clean"], tmp_path / "b", seed=0)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") and len(_digest(tmp_path / "a")) == 6
    assert sorted(p.id for p in find_pairs(tmp_path / "a")) == ["c0", "c1", "c2"]
    lo, hi = rec["fit"]["green_std_range"]
    assert all(lo / mpp.SPREAD <= r["green_std"] <= hi * mpp.SPREAD for r in rec["pairs"])
    saved = json.loads((tmp_path / "a" / "phone_pairs.json").read_text())
    assert saved["fit"]["ratios"] == pytest.approx(list(rec["fit"]["ratios"]))
    lines = mpp.check(tmp_path / "fit", tmp_path / "fit")
    assert lines[2].strip().startswith("AKLD") and "lag-1" in lines[3]


def test_make_phone_pairs_leaves_nothing_when_the_fit_fails(tmp_path, load_script):
    from pngan.io.images import write_image

    mpp = load_script("make_phone_pairs")
    c = _clean(0)
    _write_pairs(tmp_path / "fit", [c], [c])  # no noise: nothing to fit
    write_image(tmp_path / "clean" / "c.png", c)
    with pytest.raises(PnganError, match="no noise"):
        mpp.make(tmp_path / "fit", [tmp_path / "clean"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_phone_crops_puts_noisy_results_and_truth_side_by_side(tmp_path, load_script):
    from pngan.io.images import write_image

    pc = load_script("phone_crops")
    clean, noisy = _pairs(n=2)
    _write_pairs(tmp_path / "pairs", clean, noisy)
    for i, c in enumerate(clean):
        write_image(tmp_path / "res" / f"p{i}_30.00dB_0.9000.png", c)
    img = pc.figure(tmp_path / "pairs", [("model", tmp_path / "res")], ["p0", "p1"], crop=32)
    assert img.shape == (2 * (32 + pc.LABEL), 3 * 32, 3) and img.dtype == np.uint8
    assert np.array_equal(img[:32, 64:96], img[:32, 32:64])  # the "result" is the clean image: same panel
    with pytest.raises(KeyError, match="no pair 'p9'"):
        pc.figure(tmp_path / "pairs", [("model", tmp_path / "res")], ["p9"], crop=32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no result for p0"):
        pc.figure(tmp_path / "pairs", [("model", tmp_path / "empty")], ["p0"], crop=32)
