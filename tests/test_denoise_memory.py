"""``pngan denoise`` on images too large for memory: automatic tiling, out-of-memory per image, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import read_image, write_image
from pngan.noise import add_poisson_gaussian
from pngan.assets.samples import sample_image

pytestmark = pytest.mark.slow

OOM = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    clean = sample_image("coffee")[:120, :160]
    write_image(d / "big.png", add_poisson_gaussian(clean, np.random.default_rng(0), 4e-3, 2e-4))
    write_image(d / "small.png", clean[:24, :24])
    return d


def _run(d, out, *extra):
    return CliRunner().invoke(main, ["denoise", "--method", "dncnn", "--input_dir", str(d), "--result_dir", str(out),
                                     *extra])


@pytest.fixture
def reference(folder, tmp_path):
    r = _run(folder, tmp_path / "ref")
    assert r.exit_code == 0 and "warning" not in r.output, r.output
    return tmp_path / "ref"


def _oom_above(monkeypatch, pixels: int) -> list[tuple[int, ...]]:
    """Make the torch model fail as the CPU allocator does for inputs above ``pixels`` pixels."""
    from pngan.runtimes.torch_runner import TorchRunner

    real, shapes = TorchRunner._run, []

    def run(self, x):
        shapes.append(x.shape)
        if x.shape[2] * x.shape[3] > pixels:
            raise RuntimeError(OOM + "\nand a long C++ trace\n...")
        return real(self, x)

    monkeypatch.setattr(TorchRunner, "_run", run)
    return shapes


def test_estimate_above_free_memory_tiles_with_a_warning(folder, reference, tmp_path, monkeypatch):
    import pngan.runtimes.autotile as autotile

    monkeypatch.setattr(autotile, "available_memory", lambda device="cpu": 4 * 2**20)  # 4 MiB free
    shapes = _oom_above(monkeypatch, 10**9)  # records the calls only
    r = _run(folder, tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "warning: big.png: 160x120 needs about" in r.output and "in 64x64 tiles" in r.output
    assert "small.png" not in r.output  # 24x24 fits
    assert max(s[2] * s[3] for s in shapes) == 64 * 64  # never the whole 160x120 image
    a, b = read_image(reference / "big.png"), read_image(tmp_path / "out" / "big.png")
    assert np.abs(a - b).max() <= 1 / 255 + 1e-6  # the measured margin covers DnCNN's receptive field


def test_out_of_memory_retries_in_tiles(folder, reference, tmp_path, monkeypatch):
    _oom_above(monkeypatch, 80 * 80)
    r = _run(folder, tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "warning: big.png: out of memory as a whole image (" in r.output and "retrying in 80x80 tiles" in r.output
    assert "Traceback" not in r.output and "long C++ trace" not in r.output
    a, b = read_image(reference / "big.png"), read_image(tmp_path / "out" / "big.png")
    assert np.abs(a - b).max() <= 1 / 255 + 1e-6


def test_out_of_memory_even_tiled_is_one_line_and_the_others_are_written(folder, tmp_path, monkeypatch):
    _oom_above(monkeypatch, 32 * 32)
    out = tmp_path / "out"
    r = _run(folder, out)
    assert r.exit_code == 1, r.output
    assert "error: big.png: out of memory even in" in r.output and "Traceback" not in r.output
    assert "1 of 2 images failed" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["small.png"]


def test_other_runtime_errors_are_not_swallowed(folder, tmp_path, monkeypatch):
    from pngan.runtimes.torch_runner import TorchRunner

    def broken(self, x):
        raise RuntimeError("shape mismatch in layer 3")

    monkeypatch.setattr(TorchRunner, "_run", broken)
    r = _run(folder, tmp_path / "out")
    assert isinstance(r.exception, RuntimeError)  # a bug is not reported as an out-of-memory image


def test_plan_tile_rules():
    from pngan.runtimes.autotile import DEFAULT_TILE, LARGE_PIXELS, plan_tile

    assert plan_tile(4000, 6000, 3072, 64 * 2**30) == 1024  # 24 MP x 3 KiB > half of 64 GiB: the largest tile
    assert plan_tile(1000, 1000, 3072, 64 * 2**30) is None
    assert plan_tile(4000, 6000, None, None) == DEFAULT_TILE and LARGE_PIXELS < 24_000_000
    assert plan_tile(1000, 1000, None, None) is None
    assert plan_tile(4000, 6000, 3072, 2**30, overlap=40, align=4) % 4 == 0
