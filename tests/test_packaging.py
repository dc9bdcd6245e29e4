"""The wheel maps export/, runtimes/, calibration/ to pngan.* and ships weights and samples."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools reuses build/ in the source tree, which could hold stale files.
    src = tmp_path_factory.mktemp("src") / "pngan"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "runs", "pngan-demo", ".pytest_cache"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"wheel build failed: {r.stderr[-2000:]}")
    (whl,) = out.glob("pngan-*.whl")
    return whl


def test_wheel_layout(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("pngan/export/__init__.py", "pngan/runtimes/__init__.py", "pngan/calibration/__init__.py",
                     "pngan/assets/coffee.png", "pngan/weights/dncnn_polyu.safetensors",
                     "pngan/weights/dncnn_poisson-gaussian.safetensors", "pngan/weights/smnet-s_polyu.safetensors",
                     "pngan/weights/smnet-s_polyu-texture.safetensors"):
        assert required in names, required
    tops = {n.split("/")[0] for n in names}
    assert tops == {"pngan", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}


def test_wheel_imports_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import pngan.export, pngan.runtimes, pngan.calibration, pngan.models as m;"
            "assert 'site' in pngan.export.__file__, pngan.export.__file__;"
            "print(m.default_weights('dncnn').name);"
            "from pngan.weights import resolve; print(resolve('dncnn_poisson-gaussian').is_file())")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["dncnn_polyu.safetensors", "True"]  # the default, and the other one by name
