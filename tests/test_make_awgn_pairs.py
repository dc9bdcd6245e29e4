"""scripts/make_awgn_pairs.py: seeded AWGN pairs that find_pairs reads; bad input is one line."""

from __future__ import annotations

import numpy as np

from pngan.io.images import read_image, write_image


def test_pairs_are_seeded_pure_noise_and_bad_input_is_refused(load_script, tmp_path, capsys):
    from pngan.data.pairs import find_pairs

    mod = load_script("make_awgn_pairs")
    rng = np.random.default_rng(0)
    write_image(tmp_path / "c" / "a.png", rng.uniform(0.2, 0.8, (64, 48, 3)).astype(np.float32))
    assert mod.main(["--clean", str(tmp_path / "c"), "--sigma", "5", "10", "--out", str(tmp_path / "o")]) == 0
    pairs = find_pairs(tmp_path / "o" / "sigma10")
    assert len(pairs) == 1
    e = read_image(pairs[0].noisy).astype(np.float64) - read_image(pairs[0].clean)
    assert abs(e.std() * 255 - 10) < 0.5 and abs(e.mean() * 255) < 0.3
    assert mod.main(["--clean", str(tmp_path / "c"), "--sigma", "5", "--out", str(tmp_path / "o2")]) == 0
    assert (tmp_path / "o" / "sigma5" / "input" / "a_real.png").read_bytes() == \
        (tmp_path / "o2" / "sigma5" / "input" / "a_real.png").read_bytes()  # the same bytes every run
    from pngan.cli.noise_cmd import run_noise

    run_noise("gaussian", [10.0], tmp_path / "c", tmp_path / "n")  # the noise `pngan noise` writes
    assert np.array_equal(read_image(tmp_path / "n" / "Gaussian_noise_X10" / "a.png"), read_image(pairs[0].noisy))
    assert mod.main(["--clean", str(tmp_path / "c"), "--sigma", "5", "--out", str(tmp_path / "o")]) == 2
    assert mod.main(["--clean", str(tmp_path / "c"), "--sigma", "0", "--out", str(tmp_path / "o3")]) == 2
    assert mod.main(["--clean", str(tmp_path / "missing"), "--sigma", "5", "--out", str(tmp_path / "o4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err), err
