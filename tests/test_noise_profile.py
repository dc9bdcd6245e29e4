"""Noise fingerprints (pngan.realism.fingerprint, ``pngan noise-profile``): known synthetic noise is recovered from
the noisy images alone, pairs give the same quantities, JSON round-trips, bad input is one line and writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.errors import PnganError, PnganWarning
from pngan.io.images import write_image
from pngan.noise.awgn import add_awgn, quantize_8bit
from pngan.noise.phone import PhoneNoiseParams, add_phone_noise, lag1
from pngan.noise.poisson_gaussian import add_poisson_gaussian
from pngan.realism.fingerprint import (VERSION, NoiseFingerprint, compare, estimate_fingerprint,
                                       fingerprint_from_pairs, from_json, to_json)
from pngan.realism.fingerprint_estimate import PATCH, FingerprintError


def _scene(seed: int, side: int = 160) -> np.ndarray:
    """A smooth colour gradient with a few flat discs (edges the estimator must not read as noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    img = 0.15 + 0.7 * np.stack([x, (x + y) / 2, y], -1) * rng.uniform(0.6, 1.0, 3)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, side, 2).tolist() + [rng.uniform(12, 35)]
        disc = (y * side - cy) ** 2 + (x * side - cx) ** 2 < r * r
        img[disc] = np.clip(img[disc] + rng.uniform(-0.2, 0.2, 3), 0.05, 0.95)
    return img.astype(np.float32)


CLEAN = [_scene(i) for i in range(3)]


def _within(est, true, tol: float = 0.2) -> bool:
    return bool(np.all(np.abs(np.asarray(est, float) / np.asarray(true, float) - 1) < tol))


@pytest.mark.parametrize("sigma", [3.0, 15.0])
def test_white_gaussian_level(sigma):
    fp = estimate_fingerprint([add_awgn(c, sigma, 10 + i) for i, c in enumerate(CLEAN)])
    assert _within(fp.std, [np.hypot(sigma, np.sqrt(1 / 12))] * 3)  # 8-bit rounding adds 1/12
    measured = [v for row in fp.nlf for v in row if v is not None]
    assert len(measured) >= 9 and _within(measured, [sigma] * len(measured), 0.25 if sigma < 5 else 0.2)
    assert abs(fp.lag1) < 0.1 and max(map(abs, fp.between_channels)) < 0.1
    assert abs(fp.spectrum_tilt_db) < 1.0 and abs(fp.blockiness - 1) < 0.1
    assert fp.images == 3 and fp.source == "noisy" and fp.version == VERSION


def test_poisson_gaussian_nlf():
    shot, read = 1e-3, 1e-4  # variances on the [0, 1] scale: std sqrt(shot * I + read)
    fp = estimate_fingerprint([add_poisson_gaussian(c, 20 + i, shot, read) for i, c in enumerate(CLEAN)])
    checked = 0
    for centre, row in zip(fp.intensity, fp.nlf):
        for v in row:
            if v is not None:
                assert _within(v, np.sqrt(shot * centre + read) * 255), (centre, row)
                checked += 1
    assert checked >= 9
    green = [row[1] for row in fp.nlf if row[1] is not None]
    assert green == sorted(green)  # the level grows with the signal


@pytest.mark.parametrize("blur", [0.6, 1.0])
def test_correlated_noise(blur):
    """Blurred (phone) noise: the full level, not only its high-pass part, and its lag-1 and channel correlation."""
    params = PhoneNoiseParams(10.0, (1.3, 1.0, 1.6), blur=blur, rho=0.3)
    noisy = [add_phone_noise(c, 30 + i, params) for i, c in enumerate(CLEAN)]
    fp = estimate_fingerprint(noisy)
    assert _within(fp.std, np.array(params.ratios) * params.green_std)
    residuals = [n.astype(np.float64) - c for n, c in zip(noisy, CLEAN)]
    assert abs(fp.lag1 - np.mean([lag1(e) for e in residuals])) < 0.1
    assert fp.lag1 > (0.3 if blur < 1 else 0.6)
    assert abs(fp.colour_correlation - params.rho) < 0.1
    assert fp.spectrum_tilt_db < -3  # correlated noise has less power at high frequencies


def _texture(seed: int, side: int = 160) -> np.ndarray:
    """Texture everywhere (a smooth random field upsampled from 12x12, large amplitude): no flat area."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = (rng.random((12, 12, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((side, side), Image.BICUBIC), np.float32) / 255 * 0.6 + 0.2


def test_photo_without_flat_area_is_left_out():
    noisy = [add_awgn(c, 6.0, 70 + i) for i, c in enumerate(CLEAN)] + [add_awgn(_texture(1), 6.0, 80)]
    with pytest.warns(PnganWarning, match="image 4: left out of the noise fingerprint: no flat area"):
        fp = estimate_fingerprint(noisy)
    assert fp.images == 3 and fp.left_out == ("image 4",) and _within(fp.std, [6.0] * 3)
    assert from_json(to_json(fp)).left_out == ("image 4",)


def _pairs_folder(root, noise, n: int = 3):
    for i, c in enumerate(CLEAN[:n]):
        write_image(root / "input" / f"im{i}_real.png", noise(c, i))
        write_image(root / "groundtruth" / f"im{i}_mean.png", c)
    return root


def test_pairs_truth_and_compare(tmp_path):
    from pngan.data import find_pairs

    params = PhoneNoiseParams(8.0, (1.4, 1.0, 1.5), blur=0.6, rho=0.25)
    root = _pairs_folder(tmp_path / "set", lambda c, i: add_phone_noise(c, 40 + i, params))
    pairs = find_pairs(root)
    truth = fingerprint_from_pairs(pairs)
    assert truth.source == "pairs" and truth.images == 3
    assert _within(truth.std, np.array(params.ratios) * params.green_std, 0.1)
    from pngan.io.images import read_image

    est = estimate_fingerprint([read_image(p.noisy) for p in pairs])
    cmp = compare(est, truth)
    assert all(abs(e) < 0.2 for e in cmp["std_relative_error"])
    assert all(v is None or v < 0.2 for v in cmp["nlf_mean_abs_relative_error"]) and sum(cmp["bins_compared"]) >= 6
    assert cmp["lag1_abs_difference"] < 0.1 and cmp["colour_correlation_abs_difference"] < 0.1
    assert compare(truth, truth)["std_relative_error"] == [0.0, 0.0, 0.0]


def _fingerprint() -> NoiseFingerprint:
    return estimate_fingerprint([add_awgn(c, 6.0, 50 + i) for i, c in enumerate(CLEAN)])


def test_json_round_trip_and_version():
    fp = _fingerprint()
    text = to_json(fp)
    d = json.loads(text)
    assert d["format"] == "pngan-noise-fingerprint" and d["version"] == VERSION and len(d["nlf"]) == 8
    assert from_json(text) == fp
    d["version"] = VERSION + 1
    with pytest.raises(PnganError, match=f"version {VERSION + 1}.*reads version {VERSION}") as e:
        from_json(json.dumps(d))
    assert "\n" not in str(e.value)
    for bad in ("{not json", json.dumps({"format": "something else", "version": VERSION}), "[1, 2]"):
        with pytest.raises(PnganError, match="not a noise fingerprint JSON"):
            from_json(bad)


def test_refuses_small_saturated_and_clean_images():
    with pytest.raises(FingerprintError, match=f"at least {PATCH}x{PATCH}"):
        estimate_fingerprint([add_awgn(CLEAN[0][:20, :40], 5.0, 1)])
    white = np.ones((128, 128, 3), np.float32)
    with pytest.raises(FingerprintError, match="saturated"):
        estimate_fingerprint([white])
    with pytest.raises(FingerprintError, match="no measurable noise"):
        estimate_fingerprint([quantize_8bit(c) for c in CLEAN])


# --- the command --------------------------------------------------------------------------------------------

def _run(*args: str):
    return CliRunner().invoke(main, ["noise-profile", *args])


def test_cli_prints_and_writes(tmp_path):
    root = _pairs_folder(tmp_path / "set", lambda c, i: add_awgn(c, 8.0, 60 + i))
    out_json, fig = tmp_path / "out" / "fp.json", tmp_path / "out" / "nlf.png"
    r = _run(str(root / "input"), "--json", str(out_json), "--figure", str(fig))
    assert r.exit_code == 0, r.output
    assert "3 noisy photos" in r.output and "overall" in r.output and "lag-1" in r.output
    fp = from_json(out_json.read_text())
    assert fp.images == 3 and _within(fp.std, [8.0] * 3)
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = _run(str(root), "--pairs", "--json", str(out_json))  # the pair truth and the errors beside it
    assert r.exit_code == 0, r.output
    assert "pairs R" in r.output and "error% R" in r.output
    d = json.loads(out_json.read_text())
    assert d["pairs"]["source"] == "pairs" and "std_relative_error" in d["comparison"]
    assert from_json(out_json.read_text()).source == "noisy"
    r = _run(str(root))  # a paired folder without --pairs: its noisy half
    assert r.exit_code == 0 and "the noisy half of a paired folder" in r.output, r.output


def _write(folder, images: dict) -> None:
    for name, img in images.items():
        write_image(folder / name, img)


@pytest.mark.parametrize("case, message", [
    ("missing", "no such folder"),
    ("empty", "folder has no images"),
    ("small", f"small.png is 24x24: the noise estimator needs at least {PATCH}x{PATCH}"),
    ("saturated", "too few usable"),
    ("mostly saturated", "too few usable"),
    ("clean", "no measurable noise"),
    ("unpaired", "no noisy/clean folders"),
    ("figure is a folder", "--figure"),
])
def test_cli_bad_input_one_line_nothing_written(tmp_path, case, message, one_error_line):
    folder = tmp_path / "photos"
    if case != "missing":
        folder.mkdir()
    if case == "small":
        _write(folder, {"ok.png": add_awgn(CLEAN[0], 5.0, 1), "small.png": add_awgn(CLEAN[1][:24, :24], 5.0, 2)})
    elif case == "saturated":
        _write(folder, {"white.png": np.ones((96, 96, 3), np.float32)})
    elif case == "mostly saturated":  # a noisy corner, the rest blown out
        img = np.ones((96, 96, 3), np.float32)
        img[:40, :40] = add_awgn(CLEAN[0][:40, :40] * 0.5, 5.0, 3)
        _write(folder, {"sky.png": img})
    elif case in ("clean", "unpaired"):
        _write(folder, {f"c{i}.png": c for i, c in enumerate(CLEAN)})
    out_json, fig = tmp_path / "fp.json", tmp_path / "fig.png"
    if case == "figure is a folder":
        _write(folder, {"n.png": add_awgn(CLEAN[0], 5.0, 4)})
        fig = tmp_path / "figs"
        fig.mkdir()
    args = [str(folder), "--json", str(out_json), "--figure", str(fig)] + (["--pairs"] if case == "unpaired" else [])
    line = one_error_line(_run(*args))
    assert message in line, line
    assert not out_json.exists() and not fig.is_file() and not list(tmp_path.glob(".fp.json*"))
