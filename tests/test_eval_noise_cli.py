"""``pngan eval-noise``: pairing by stem, printed and JSON output, figures, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from pngan.cli import main
from pngan.realism.report import pair_stem
from pngan.io.images import read_image, write_image
from pngan.metrics import akld_image
from pngan.metrics.noise_texture import texture_report

STEMS = ("a1", "b2")


def _crop(i: int) -> np.ndarray:
    return data.astronaut()[40 * i:40 * i + 48, 60 * i:60 * i + 64].astype(np.float32) / 255.0


def _noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(img.shape)
    return np.clip(img + sigma / 255.0 * n, 0.0, 1.0)


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    d = {k: tmp_path / k for k in ("clean", "real", "fake")}
    for i, s in enumerate(STEMS):
        c = _crop(i + 1)
        write_image(d["clean"] / f"{s}_mean.png", c)
        write_image(d["real"] / f"{s}_real.png", _noisy(c, 8, 10 + i))
        for k in range(2):
            write_image(d["fake"] / f"{s}_{k}.png", _noisy(c, 5, 20 + 2 * i + k))
    return d


def _run(*args: str):
    return CliRunner().invoke(main, ["eval-noise", *args])


def test_pair_stem():
    assert pair_stem(Path("X_3_mean.JPG")) == pair_stem(Path("X_3_real.png")) == "X_3"
    assert pair_stem(Path("0001_GT_SRGB_010.PNG")) == pair_stem(Path("0001_NOISY_SRGB_010.PNG")) == "0001_SRGB_010"
    assert pair_stem(Path("X_3_fake.png")) == "X_3"


def test_output_json_and_figures(folders, tmp_path):
    out_json, figs = tmp_path / "out" / "akld.json", tmp_path / "figs"
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(folders["fake"]),
             "--json", str(out_json), "--figures", str(figs))
    assert r.exit_code == 0, r.output
    res = json.loads(out_json.read_text())
    assert set(res) == {"akld", "per_image", "samples", "reference_awgn", "stats", "hist_kld", "hist_kld_per_image",
                        "hist_kld_centred", "hist_kld_centred_per_image", "spectrum_db", "autocorrelation_mae",
                        "stochastic_fraction", "like"} and res["samples"] == 2 and res["like"] is None
    assert 0 <= res["stochastic_fraction"] <= 1.5
    assert set(res["per_image"]) == set(STEMS) == set(res["hist_kld_per_image"]) == set(res["hist_kld_centred_per_image"])
    for s in STEMS:  # the numbers are AKLD on the images as written (8-bit)
        c, rl = read_image(folders["clean"] / f"{s}_mean.png"), read_image(folders["real"] / f"{s}_real.png")
        fk = [read_image(folders["fake"] / f"{s}_{k}.png") for k in range(2)]
        assert res["per_image"][s] == pytest.approx(akld_image(c, rl, fk))
        assert f"{s}  AKLD {res['per_image'][s]:.4f}  hist KLD {res['hist_kld_per_image'][s]:.4f}" in r.output
    want = texture_report([read_image(folders["clean"] / f"{s}_mean.png") for s in STEMS],
                          [read_image(folders["real"] / f"{s}_real.png") for s in STEMS],
                          [[read_image(folders["fake"] / f"{s}_{k}.png") for k in range(2)] for s in STEMS],
                          [s for s in STEMS])
    for key in ("hist_kld", "hist_kld_centred", "spectrum_db", "autocorrelation_mae"):
        assert res[key] == pytest.approx(want[key]) and 0 < res[key] < 10
        assert 0 < res["reference_awgn"][key] < 10
    assert res["stats"]["real"]["lag1"] == want["real"]["lag1"]
    for k in ("real", "fake", "reference_awgn"):
        assert set(res["stats"][k]) >= {"std", "nlf", "nlf_per_group", "spectrum", "autocorrelation", "lag1", "lags",
                                        "between_channels", "blockiness", "mean_offset"}
    assert sorted(res["stats"]["real"]["nlf_per_group"]) == ["a1", "b2"]  # stem up to the first "_"
    assert res["akld"] == pytest.approx(np.mean(list(res["per_image"].values())))
    assert f"AKLD {res['akld']:.4f}" in r.output.splitlines()[len(STEMS)]
    for line in ("hist KLD (256 bins, vs real)", "hist KLD, image means removed", "mean offset |DC| (0-255)",
                 "spectrum distance dB", "lag-1 autocorrelation", "8x8 blockiness"):
        assert line in r.output
    files = sorted(p.name for p in figs.iterdir())
    assert files == ["autocorrelation.png", "crops.png", "histogram.png", "noise_level_function.png", "spectrum.png"]
    with Image.open(figs / "crops.png") as im:  # two rows (one per group) of four 48x64 crops, 2x
        assert im.size[0] == 4 * 2 * 64 + 3 * 4 and im.size[1] > 2 * 2 * 48
    assert sum((figs / f).stat().st_size for f in files) < 1_000_000
    assert not list(out_json.parent.glob(".*")) and not list(figs.glob(".*"))  # atomic writes left no temp files


def test_single_fake_per_image_and_fake_suffix(folders, tmp_path):
    fake1 = tmp_path / "fake1"
    for s in STEMS:
        write_image(fake1 / f"{s}_fake.png", read_image(folders["real"] / f"{s}_real.png"))
    out_json = tmp_path / "r.json"
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(fake1),
             "--json", str(out_json))
    assert r.exit_code == 0, r.output
    res = json.loads(out_json.read_text())
    assert res["samples"] == 1 and res["akld"] == 0.0  # fake == real
    assert res["hist_kld"] == res["spectrum_db"] == res["autocorrelation_mae"] == 0.0


def test_mismatched_names(folders, one_error_line):
    (folders["fake"] / "zz_0.png").write_bytes((folders["fake"] / "a1_0.png").read_bytes())
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(folders["fake"]))
    assert "zz_0.png" in one_error_line(r)


def test_missing_real(folders, one_error_line):
    (folders["real"] / "b2_real.png").unlink()
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(folders["fake"]))
    assert "b2" in one_error_line(r)


def test_missing_fake(folders, one_error_line):
    for k in range(2):
        (folders["fake"] / f"b2_{k}.png").unlink()
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(folders["fake"]))
    assert "b2" in one_error_line(r)


def test_empty_and_missing_folders(folders, tmp_path, one_error_line):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(_run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(empty)))
    one_error_line(_run("--clean", str(empty), "--real", str(folders["real"]), "--fake", str(folders["fake"])))
    one_error_line(_run("--clean", str(tmp_path / "nope"), "--real", str(folders["real"]),
                         "--fake", str(folders["fake"])))


@pytest.mark.parametrize("role", ["real", "fake"])
def test_size_mismatch_writes_nothing(folders, tmp_path, role, one_error_line):
    bad = folders["real"] / "b2_real.png" if role == "real" else folders["fake"] / "b2_1.png"
    write_image(bad, np.zeros((20, 30, 3), np.float32))
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--fake", str(folders["fake"]),
             "--json", str(tmp_path / "r.json"), "--figures", str(tmp_path / "figs"))
    line = one_error_line(r)
    assert "size mismatch" in line and bad.name in line and "b2_mean.png is 64x48" in line
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "figs").exists()


@pytest.mark.parametrize("h,w", [(6, 40), (40, 12), (15, 15)])
def test_images_too_small_for_the_statistics(tmp_path, h, w, one_error_line):
    """AKLD's 7x7 window, lags up to 3 and two 8x8 blocks need 16x16: one line naming the pair, nothing written."""
    for i, (hh, ww) in enumerate(((32, 32), (h, w))):
        c = np.random.default_rng(i).random((hh, ww, 3)).astype(np.float32)
        write_image(tmp_path / "clean" / f"p{i}_mean.png", c)
        write_image(tmp_path / "real" / f"p{i}_real.png", _noisy(c, 8, 1))
        write_image(tmp_path / "fake" / f"p{i}.png", _noisy(c, 5, 2))
    r = _run("--clean", str(tmp_path / "clean"), "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"),
             "--json", str(tmp_path / "r.json"), "--figures", str(tmp_path / "figs"))
    line = one_error_line(r)
    assert f"p1: p1_mean.png is {w}x{h}: the noise statistics need at least 16x16 pixels" in line
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "figs").exists()


def test_needs_exactly_one_fake_source(folders, one_error_line):
    line = one_error_line(_run("--clean", str(folders["clean"]), "--real", str(folders["real"]),
                                "--fake", str(folders["fake"]), "--weights", "smnet-s"))
    assert "--fake DIR or --weights PATH|NAME, not both" in line


@pytest.fixture
def small_pairs(tmp_path) -> Path:
    """A paired folder (input/ + groundtruth/) of one 32x32 image."""
    c = _crop(1)[:32, :32]
    write_image(tmp_path / "pairs" / "groundtruth" / "x_mean.png", c)
    write_image(tmp_path / "pairs" / "input" / "x_real.png", _noisy(c, 8, 0))
    return tmp_path / "pairs"


def _json_of(tmp_path, *args: str) -> dict:
    out = tmp_path / f"r{len(list(tmp_path.glob('r*.json')))}.json"
    r = _run(*args, "--samples", "2", "--json", str(out))
    assert r.exit_code == 0, r.output
    return json.loads(out.read_text())


def test_default_generator_and_the_spellings(small_pairs, tmp_path):
    """No --fake: the shipped default generator; --data/--pairs, --weights/--generator, a name or its file."""
    from pngan.models import shipped_weights
    from pngan.weights import DEFAULT_GENERATOR

    shipped = str(shipped_weights(DEFAULT_GENERATOR))
    want = _json_of(tmp_path, "--pairs", str(small_pairs), "--generator", shipped)
    assert want["samples"] == 2 and set(want["per_image"]) == {"x"}
    assert _json_of(tmp_path, "--data", str(small_pairs)) == want  # the default
    assert _json_of(tmp_path, "--data", str(small_pairs), "--weights", DEFAULT_GENERATOR) == want
    assert _json_of(tmp_path, "--data", str(small_pairs), "--generator", "SMNet-S") == want  # any case
    assert _json_of(tmp_path, "--data", str(small_pairs), "--weights", shipped) == want
    other = _json_of(tmp_path, "--data", str(small_pairs), "--weights", "smnet-s_polyu-texture")  # a shipped file
    assert other["per_image"] != want["per_image"]


def test_help_names_the_options_and_the_default():
    r = _run("--help")
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "--data, --pairs PATH" in text and "--weights, --generator PATH|NAME" in text
    assert "Default without --fake: smnet-s" in text


@pytest.mark.parametrize("weights, says", [
    ("photo.jpg", "photo.jpg is an image, not generator weights"),
    ("dncnn", "dncnn is a denoiser, not a noise generator"),
    ("dncnn_polyu", "holds a dncnn denoiser, not a noise generator"),
    ("d.safetensors", "holds a dncnn denoiser, not a noise generator"),
    ("smnet", "no shipped weights for smnet"),
    ("nothing-here", "nothing-here: no such file or shipped weights"),
    ("notes.pth", "notes.pth: not a .safetensors file"),
    ("empty.safetensors", "empty.safetensors: "),
])
def test_weights_that_are_not_a_generator(small_pairs, tmp_path, monkeypatch, weights, says, one_error_line):
    """One line naming what was passed and what to pass: never 'give the model name (--model or --method)'."""
    from pngan.models import build, save_weights

    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "photo.jpg", _crop(1))
    save_weights(build("dncnn", features=8, depth=3), tmp_path / "d.safetensors")
    (tmp_path / "notes.pth").write_bytes(b"not a checkpoint")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    line = one_error_line(_run("--data", str(small_pairs), "--weights", weights, "--json", "r.json"))
    assert says in line, line
    assert ("--weights takes a generator .safetensors file or a shipped name (smnet-c, smnet-s, smnet-c_camera, "
            "smnet-n_polyu, smnet-n_polyu-chroma, smnet-s_polyu") in line
    assert "--model" not in line and "--method" not in line
    assert not (tmp_path / "r.json").exists()


def test_generator_path(tmp_path, seeded):
    from pngan.generate.sampler import generate
    from pngan.models.inputs import sample_seed
    from pngan.models import build, load_model, save_weights

    clean_dir, real_dir = tmp_path / "clean", tmp_path / "real"
    c = _crop(1)[:32, :32]
    write_image(clean_dir / "x_mean.png", c)
    write_image(real_dir / "x_real.png", _noisy(c, 8, 0))
    weights = save_weights(build("smnet-s"), tmp_path / "g.safetensors")
    out_json = tmp_path / "g.json"
    r = _run("--clean", str(clean_dir), "--real", str(real_dir), "--generator", str(weights),
             "--samples", "2", "--seed", "3", "--json", str(out_json))
    assert r.exit_code == 0, r.output
    res = json.loads(out_json.read_text())
    assert res["samples"] == 2 and set(res["per_image"]) == {"x"}
    # sample k of image F uses the seed from (S, F, k), each clamped to [0, 1]
    model, c8, r8 = load_model(None, weights), read_image(clean_dir / "x_mean.png"), read_image(real_dir / "x_real.png")
    fakes = [np.clip(generate(model, c8, sample_seed(3, "x_mean.png", k)), 0.0, 1.0) for k in (0, 1)]
    assert res["akld"] == pytest.approx(akld_image(c8, r8, fakes))


def test_denoiser_weights_are_not_a_generator(folders, tmp_path, one_error_line):
    from pngan.models import build, save_weights

    weights = save_weights(build("dncnn"), tmp_path / "d.safetensors")
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--generator", str(weights),
             "--json", str(tmp_path / "r.json"))
    assert "holds a dncnn denoiser, not a noise generator" in one_error_line(r)
    assert not (tmp_path / "r.json").exists()


def test_bad_generator_weights(folders, tmp_path, one_error_line):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not weights")
    r = _run("--clean", str(folders["clean"]), "--real", str(folders["real"]), "--generator", str(bad))
    one_error_line(r)


def test_images_ahead_give_the_plain_loop_numbers(tmp_path):
    """The next image is read and generated in a worker thread: the numbers are those of a plain loop, exactly."""
    from pngan.generate.sampler import generate
    from pngan.models.inputs import sample_seed
    from pngan.metrics import kl_gauss_zero_center, noise_variance_map
    from pngan.metrics.noise_texture import NoiseTexture
    from pngan.realism.report import evaluate_noise, group_of, load_generator, pair_folders, stochastic_fraction

    for i, s in enumerate(("a_1", "a_2", "b_1")):
        c = _crop(i + 1)[:32, :40]
        write_image(tmp_path / "clean" / f"{s}_mean.png", c)
        write_image(tmp_path / "real" / f"{s}_real.png", _noisy(c, 8, i))
    pairs = pair_folders(tmp_path / "clean", tmp_path / "real")
    report = evaluate_noise(pairs, "smnet-s", samples=2, seed=5)
    model, fake_t, shares = load_generator("smnet-s"), NoiseTexture(), []
    for stem, clean_p, real_p, _ in pairs:
        c, r = read_image(clean_p), read_image(real_p)
        fakes = [np.clip(generate(model, c, sample_seed(5, clean_p.name, k)), 0.0, 1.0) for k in (0, 1)]
        v = noise_variance_map(r, c)
        assert report.per_image[stem] == float(np.mean([kl_gauss_zero_center(noise_variance_map(f, c), v)
                                                        for f in fakes]))
        shares.append(stochastic_fraction(c, *fakes))
        fake_t.add(c, fakes, group_of(stem))
    assert report.texture["stochastic_fraction"] == float(np.mean(shares))
    assert report.stats["fake"] == fake_t.summary()
