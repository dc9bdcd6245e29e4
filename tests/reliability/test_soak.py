"""Reduced soak (scripts/soak.py): repeated in-process `pngan denoise` / `pngan parity` leak nothing.

The detector fits growth per image and per invocation after warm-up (traced Python/numpy memory, RSS,
live tensors, open fds); the allowances sit well below what a real leak does, which the injected-leak
tests show: keeping each denoised output makes the same soak fail.
"""

from __future__ import annotations

import importlib.util
import sys
import tracemalloc
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("psutil")
pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")


def _soak() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"
    spec = importlib.util.spec_from_file_location("pngan_soak_script", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


soak = _soak()


@pytest.fixture
def traced():
    """tracemalloc on for the test (the soak's traced-memory detector needs it)."""
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    yield
    if not was:
        tracemalloc.stop()


def test_denoise_and_parity_soak_leak_nothing(tmp_path: Path, traced) -> None:
    den = soak.soak_denoise(tmp_path / "d", images=96, size=32, batch=12)  # folders of 6, 18, 6, 18, ...
    par = soak.soak_parity(tmp_path / "p", runs=5)
    report = "\n".join([soak.HEADER, *(soak.format_row(s) for s in den + par)])
    assert [s.done for s in den] == [0, 6, 24, 30, 48, 54, 72, 78, 96], report  # every image denoised and written
    for v, unit in ((soak.verdict(den), "images"), (soak.verdict(par), "runs")):
        assert not v.problems(), f"{soak.describe(v, unit)}: {v.problems()}\n{report}"


def test_an_injected_leak_fails_the_soak(tmp_path: Path, traced, monkeypatch) -> None:
    """Keep every denoised image, once as a numpy array (traced memory) and once as a torch tensor
    with its own storage (invisible to tracemalloc, seen by the live-tensor count): both are named."""
    import numpy as np
    import torch

    import pngan.io.images

    arrays: list[np.ndarray] = []
    tensors: list[torch.Tensor] = []
    write = pngan.io.images.write_image

    def leaky_write(path, img, *args, **kwargs):
        if "results" in Path(path).parts:  # denoised outputs, not the soak's own input images
            arrays.append(np.array(img, dtype=np.float32))  # 12 KB whatever dtype denoise passes
            tensors.append(torch.tensor(img))
        return write(path, img, *args, **kwargs)

    monkeypatch.setattr(pngan.io.images, "write_image", leaky_write)
    den = soak.soak_denoise(tmp_path / "d", images=48, size=32, batch=8)  # folders of 4, 12, 4, 12, 4, 12
    v = soak.verdict(den)
    assert len(arrays) == len(tensors) == 48
    problems = v.problems()
    assert f"live tensors grew {v.tensors_first} -> {v.tensors_first + 44}" in problems  # one per image after warm-up
    assert any(p.startswith("traced memory grows") and "per unit" in p for p in problems), soak.describe(v, "images")
    assert 10 < v.traced_kb_per_unit < 15  # 12 KB per 32x32x3 float32 image kept


def test_growth_rates_separate_per_image_from_per_invocation() -> None:
    sizes = soak.folder_sizes(120, 12)
    assert sizes == [6, 18] * 5
    steps = list(range(1, 11))
    units = [sum(sizes[:k]) for k in steps]
    a, b = soak.growth_rates(steps, units, [100 + 7 * s + 0.5 * u for s, u in zip(steps, units)])
    assert a == pytest.approx(7) and b == pytest.approx(0.5)
    a, b = soak.growth_rates(steps, steps, [3 * s for s in steps])  # parity: one unit per invocation
    assert a == pytest.approx(3) and b == 0.0
