"""tiled(): seamless blending, static-shape tiles, batching, memory independent of the image size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from pngan.metrics import psnr_float
from pngan.models import build
from pngan.runtimes import BaseRunner, InputError, tiled
from pngan.runtimes.torch_runner import TorchRunner
from pngan.assets.samples import sample_image


def _natural(h: int, w: int) -> np.ndarray:
    img = sample_image("coffee").transpose(2, 0, 1)[None]
    reps = (1, 1, -(-h // img.shape[2]), -(-w // img.shape[3]))
    return np.ascontiguousarray(np.tile(img, reps)[:, :, :h, :w])


def test_identity_is_exact_for_any_geometry():
    x = np.random.default_rng(0).random((2, 3, 70, 101), dtype=np.float32)
    for tile, overlap, margin in ((32, 8, 0), (32, 8, 2), (40, 12, 3), (200, 16, 4), ((24, 48), 10, 5)):
        y = tiled(lambda t: t * 1.0, x, tile, overlap, batch=3, margin=margin)
        np.testing.assert_allclose(y, x, atol=1e-6)


def test_local_network_tiles_without_seams(seeded):
    # DnCNN 8x3: receptive-field radius 3 <= margin, so tiles reproduce the whole image
    run = TorchRunner(build("dncnn", features=8, depth=3))
    x = _natural(200, 260)
    whole = run(x)
    assert psnr_float(whole, tiled(run, x, 64, 16, batch=4)) >= 90
    # the old linear-ramp-only blending (margin 0) leaves visible error; still far above 50 dB
    assert psnr_float(whole, tiled(run, x, 64, 16, batch=4, margin=0)) >= 50


def test_global_pooling_network_within_50db(seeded):
    net = build("smnet-s")
    torch.nn.init.kaiming_normal_(net.conv_out.weight)  # away from identity so the attention matters
    run = TorchRunner(net)
    x = _natural(192, 192)
    whole = run(x)
    assert psnr_float(whole, x) < 40  # the network does change the image
    assert psnr_float(whole, tiled(run, x, 128, 32, batch=2)) >= 50


class CountingRunner(BaseRunner):
    backend = "fake"

    def __init__(self, static=None):
        self.static_shape = static
        self.calls = []

    def _run(self, x):
        self.calls.append(x.shape)
        return x * 0.5


def test_batching_and_static_shape_padding():
    r = CountingRunner()
    x = np.random.default_rng(1).random((1, 3, 100, 100), dtype=np.float32)
    r.run_tiled(x, tile=48, overlap=8, batch=3)
    assert all(c[0] <= 3 for c in r.calls) and sum(c[0] for c in r.calls) == 9  # 3x3 tiles in batches of 3
    s = CountingRunner(static=(2, 32, 32))
    y = s(np.random.default_rng(2).random((1, 3, 20, 75), dtype=np.float32))  # smaller than a tile in H
    assert y.shape == (1, 3, 20, 75)
    assert set(s.calls) == {(2, 3, 32, 32)}  # every call: exactly the engine's shape
    same = CountingRunner(static=(1, 16, 16))
    same(np.zeros((1, 3, 16, 16), np.float32))
    assert same.calls == [(1, 3, 16, 16)]  # no tiling when the shape fits


def test_bad_tiling_arguments():
    x = np.zeros((1, 3, 32, 32), np.float32)
    with pytest.raises(InputError, match="tile > 2"):
        tiled(lambda t: t, x, 16, 8)
    with pytest.raises(InputError, match="N x C x H x W"):
        tiled(lambda t: t, x[0], 16, 4)


def _extra_peak(h: int, w: int) -> float:
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    tracemalloc.start()
    y = tiled(lambda t: t + 0.0, x, 64, 16, batch=4)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - y.nbytes  # the output array is allocated inside tiled()


def test_peak_memory_does_not_grow_with_the_image():
    small, large = _extra_peak(256, 256), _extra_peak(1024, 1536)
    tiles = 4 * 3 * 64 * 64 * 4  # one batch of tiles, float32
    assert large < 8 * tiles, (small, large)
    assert large < small + 2 * tiles + 64 * 1024, (small, large)


# --- the margin from the model (issue 15): receptive radius probe, geometry, alignment ------------

@pytest.mark.parametrize("depth", [3, 6])
def test_receptive_radius_probe_finds_a_conv_stack_depth(seeded, depth):
    from pngan.runtimes.autotile import receptive_radius

    # DnCNN: depth 3x3 convs, radius = depth; a probe that guessed a fixed margin would fail one case
    assert receptive_radius(TorchRunner(build("dncnn", features=8, depth=depth))) == depth
    assert receptive_radius(lambda t: t * 0.5) == 0  # a pointwise runner


def test_geometry_covers_the_radius_and_caps_small_tiles():
    from pngan.runtimes.autotile import geometry_for

    g = geometry_for(20, 256)
    assert g == {"overlap": 2 * 22 + 16, "margin": 22, "short": 0}
    g = geometry_for(20, 64)
    assert g["overlap"] == 31 and g["margin"] == 15 and g["short"] == 7  # the tile cannot hold the margin


def _blur_stack(depth: int):
    """``depth`` 3x3 box blurs (zero padding): a linear local net of receptive radius ``depth``."""
    conv = torch.nn.Conv2d(3, 3, 3, padding=1, bias=False, groups=3)
    torch.nn.init.constant_(conv.weight, 1 / 9)
    net = torch.nn.Sequential(*[conv] * depth).eval()

    @torch.inference_mode()
    def run(x: np.ndarray) -> np.ndarray:
        return net(torch.from_numpy(x)).numpy()

    return run


def test_measured_margin_beats_the_fixed_quarter_for_a_deep_local_net():
    """A 30-blur stack tiled with the old margin overlap // 4 = 8 has seams; the measured margin has none."""
    from pngan.runtimes.autotile import geometry_for, receptive_radius

    run = _blur_stack(30)
    radius = receptive_radius(run)
    assert 12 <= radius <= 30  # the response falls below 1e-5 per unit impulse before the structural 30
    x = _natural(160, 200)
    whole = run(x)
    geo = geometry_for(radius, 128)
    geo.pop("short")
    new, old = psnr_float(whole, tiled(run, x, 128, batch=2, **geo)), psnr_float(whole, tiled(run, x, 128, 32, batch=2))
    assert new > 85 and new > old + 20, (new, old)


def test_aligned_tiles_match_a_downsampling_net_better(seeded):
    """SMNet-s works on a 4x down-sampled grid too: tile origins on multiples of 4 keep that grid."""
    net = build("smnet-s")
    torch.nn.init.kaiming_normal_(net.conv_out.weight)
    run = TorchRunner(net)
    x = _natural(110, 130)
    whole = run(x)
    aligned = psnr_float(whole, tiled(run, x, 70, 31, batch=2, margin=10, align=4))
    plain = psnr_float(whole, tiled(run, x, 70, 31, batch=2, margin=10))  # origins 0, 39, ...: off the grid
    assert aligned > plain + 10, (aligned, plain)  # measured 81.7 vs 58.8 dB


def test_aligned_plan_covers_everything():
    x = np.random.default_rng(3).random((1, 3, 101, 77), dtype=np.float32)
    for align in (2, 4, 8):
        np.testing.assert_allclose(tiled(lambda t: t * 1.0, x, 40, 12, batch=3, margin=3, align=align), x, atol=1e-6)
        s = CountingRunner(static=(2, 40, 40))
        y = tiled(s._run, x, 40, 12, batch=2, margin=3, align=align, exact=True)
        np.testing.assert_allclose(y, x * 0.5, atol=1e-6)
        assert set(s.calls) == {(2, 3, 40, 40)}
