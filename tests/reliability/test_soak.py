"""Reduced soak (scripts/soak.py): repeated in-process `pngan denoise` / `pngan parity` keep RSS and fds flat."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("psutil")
pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

RSS_LIMIT_MB = 60.0  # generous: allocator/cache noise, not leaks (the full soak grows far less per image)


def _soak() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"
    spec = importlib.util.spec_from_file_location("pngan_soak_script", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_denoise_and_parity_soak_keep_memory_and_fds_flat(tmp_path: Path) -> None:
    soak = _soak()
    den = soak.soak_denoise(tmp_path / "d", images=120, size=32, batch=30)
    par = soak.soak_parity(tmp_path / "p", runs=5)
    report = "\n".join(soak.format_row(s) for s in den + par)
    assert [s.done for s in den] == [0, 30, 60, 90, 120], report  # every image was denoised and written
    for v in (soak.verdict(den), soak.verdict(par)):
        assert v.fd_growth <= 0, f"{v.phase}: open fds grew {v.fds_first} -> {v.fds_last}\n{report}"
        assert v.rss_growth_mb < RSS_LIMIT_MB, f"{v.phase}: RSS grew {v.rss_growth_mb:.1f} MB\n{report}"
