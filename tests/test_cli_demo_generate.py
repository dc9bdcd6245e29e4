"""demo's side-by-side figure (PSNR labels, zoomed crop where the noise shows); generate on a paired root."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from pngan.cli import main
from pngan.cli.demo import LABEL_H, ZOOM, side_by_side, zoom_window


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Left half textured, right half flat; strong noise only in the flat bottom-right quarter."""
    clean = np.full((64, 64, 3), 0.5, np.float32)
    clean[:, :32] = rng.random((64, 32, 3)).astype(np.float32)  # texture: noise hides there
    noisy = clean + rng.normal(0, 0.01, clean.shape).astype(np.float32)
    noisy[32:, 32:] += rng.normal(0, 0.1, (32, 32, 3)).astype(np.float32)
    return clean, np.clip(noisy, 0, 1)


def test_zoom_window_finds_the_visible_noise(rng):
    clean, noisy = _scene(rng)
    y, x = zoom_window(noisy, clean, 16)
    assert y >= 32 and x >= 32 and y + 16 <= 64 and x + 16 <= 64


def test_side_by_side_has_labelled_panels_and_crops(rng):
    clean, noisy = _scene(rng)
    den = (clean + noisy) / 2
    fig = side_by_side(noisy, den, clean, 20.0, 30.0)
    h, w = clean.shape[:2]
    assert fig.shape == (2 * (LABEL_H + h), 3 * w, 3) and fig.dtype == np.uint8
    u8 = (np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8)
    inner = (slice(LABEL_H + 1, LABEL_H + 31), slice(1, 31))  # away from the crop box
    assert np.array_equal(fig[inner], u8[1:31, 1:31])
    assert (fig[:LABEL_H, :w] < 128).any()  # a label is drawn above the panel
    size = min(h, w) // ZOOM
    y, x = zoom_window(noisy, clean, size)
    crop = fig[2 * LABEL_H + h:, :w]  # each source pixel is a ZOOM x ZOOM block
    assert np.array_equal(crop[ZOOM // 2:size * ZOOM:ZOOM, ZOOM // 2:size * ZOOM:ZOOM], u8[y:y + size, x:x + size])


def test_generate_on_paired_root_uses_groundtruth(tmp_path):
    root = tmp_path / "polyu"
    for sub, name, v in (("input", "a_real.png", 30), ("groundtruth", "a_mean.png", 200)):
        (root / sub).mkdir(parents=True)
        Image.fromarray(np.full((16, 16, 3), v, np.uint8)).save(root / sub / name)
    r = CliRunner().invoke(main, ["generate", "--input_dir", str(root), "--result_dir", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")] == [
        f"warning: {root} holds noisy/clean pairs: generating from its clean images in {root / 'groundtruth'} "
        f"(input/ is not used)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]  # the clean role token dropped
    out = np.asarray(Image.open(tmp_path / "out" / "a.png")).astype(float)
    assert abs(out.mean() - 200) < 20  # noise around the clean image, not the dark noisy one
