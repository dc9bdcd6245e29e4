"""scripts/generator_gain.py: noisy -> denoised PSNR of a generator's samples; a denoiser given as the generator
gets one line and exit 1."""

from __future__ import annotations

import numpy as np

from pngan.io.images import write_image


def test_gain_of_pure_noise_and_refused_weights(load_script, tmp_path, capsys):
    mod = load_script("generator_gain")
    rng = np.random.default_rng(0)
    clean = np.clip(0.5 + 0.1 * rng.standard_normal((48, 40, 3)), 0, 1).astype(np.float32)
    write_image(tmp_path / "c" / "a.png", clean)
    from pngan.generate.sampler import open_generator
    from pngan.models import load_model

    noisy, denoised, n, kept = mod.gain(open_generator("smnet-s_polyu"), load_model("dncnn", None).eval(), tmp_path / "c",
                                  None, 0)
    assert n == 1 and 20 < noisy < 60 and np.isfinite(denoised) and 20 < kept < 80
    assert mod.main(["--weights", "smnet-s_polyu", "--clean", str(tmp_path / "c")]) == 0
    assert "noisy" in capsys.readouterr().out
    assert mod.main(["--weights", "smnet-s_polyu", "--clean", str(tmp_path / "c"), "--denoiser-weights",
                     "dncnn_polyu", "dncnn_poisson-gaussian"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "dncnn_poisson-gaussian; kept" in lines[1], lines
    assert mod.main(["--weights", "dncnn_polyu", "--clean", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: dncnn_polyu: holds a dncnn denoiser, not a noise generator (generators: smnet, smnet-c, smnet-n, smnet-s)", err
