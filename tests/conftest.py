"""Shared fixtures: small images written to tmp folders, models with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(2)

# Markers (registered in pyproject.toml) are set by each test module (``pytestmark``), not by a list here.
# `pytest -m "not slow and not browser and not gpu"` is the fast part. slow: modules that export to several
# runtimes, train, or run whole reliability campaigns; browser: tests driving Chromium; gpu: tests needing CUDA.


def write_random_pairs(root, names=("a", "b"), seed: int = 0, noise: float = 0.02, tokens=("mean", "real")):
    """``root`` with a 24x24 random clean image per name in ``groundtruth/`` (``<name>_<tokens[0]>.png``) and it
    plus Gaussian ``noise`` in ``input/`` (``<name>_<tokens[1]>.png``); returns ``root``."""
    from pngan.io.images import write_image

    rng = np.random.default_rng(seed)
    for n in names:
        c = rng.random((24, 24, 3)).astype(np.float32)
        write_image(root / "groundtruth" / f"{n}_{tokens[0]}.png", c)
        write_image(root / "input" / f"{n}_{tokens[1]}.png", np.clip(c + noise * rng.standard_normal(c.shape), 0, 1))
    return root


@pytest.fixture(scope="session")
def random_pairs():
    """Factory: ``write_random_pairs`` (training and preflight tests)."""
    return write_random_pairs


@pytest.fixture(scope="module")
def tiny_train_pairs(tmp_path_factory):
    """Two 24x24 noisy/clean pairs with PolyU names (``a_real``/``a_mean``, ``b_...``) for training tests."""
    return write_random_pairs(tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="session")
def tiny_dncnn_weights(tmp_path_factory):
    """A seeded DnCNN of 3 layers x 8 features saved as ``.safetensors`` (export tests)."""
    from pngan.models import build, save_weights

    torch.manual_seed(0)
    return save_weights(build("dncnn", features=8, depth=3), tmp_path_factory.mktemp("w") / "w.safetensors")


@pytest.fixture(scope="session")
def one_error_line():
    """Check that a ``CliRunner`` result failed with exit 1 and exactly one ``error:`` line; returns that line."""

    def check(r) -> str:
        assert r.exit_code == 1, r.output
        assert "Traceback" not in r.output
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.output
        return lines[0]

    return check


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def export_tiny_dncnn():
    """Factory: a tiny seeded DnCNN, its weights file, and its export to ``targets`` under ``folder``.

    Returns ``(net, weights_path, {target: artifact_folder})``, as ``pngan-export`` writes them.
    """

    def make(folder, targets=("onnx",), precisions=None, **export_kw):
        """``precisions`` given: one target, exported at each, keyed by precision; ``export_kw`` go to export."""
        import warnings

        from pngan.export import export
        from pngan.models import build, save_weights

        torch.manual_seed(0)
        folder.mkdir(parents=True, exist_ok=True)
        net = build("dncnn", features=8, depth=3).eval()
        weights = save_weights(net, folder / "w.safetensors")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if precisions is None:
                arts = {t: export(net, t, folder / "arts", weights=weights, **export_kw) for t in targets}
            else:
                (target,) = targets
                arts = {p: export(net, target, folder / "arts", precision=p, weights=weights, **export_kw)
                        for p in precisions}
        return net, weights, arts

    return make


@pytest.fixture
def one_thread():
    """Torch at 1 thread for the test: small work where conftest's 2 threads only spin against each other on
    a loaded 2-core CPU (40x slower measured)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def load_script():
    """Factory: the module of ``scripts/<name>.py``, loaded from its file (scripts are not a package)."""
    import importlib.util
    from pathlib import Path

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture(scope="session")
def coffee_pairs():
    """Factory: ``root`` with two paired 64-wide crops (``rows`` tall) of the shipped coffee sample, Poisson-Gaussian
    noisy in ``input/`` (``im<i>_real.png``) and clean in ``groundtruth/`` (``im<i>_mean.png``); returns ``root``."""

    def make(root, rows: int):
        from pngan.io.images import write_image
        from pngan.noise import add_poisson_gaussian
        from pngan.assets.samples import sample_image

        clean = sample_image("coffee")[:rows, :72]
        for i in range(2):
            c = clean[:, i * 8:i * 8 + 64]
            write_image(root / "groundtruth" / f"im{i}_mean.png", c)
            write_image(root / "input" / f"im{i}_real.png", add_poisson_gaussian(c, np.random.default_rng(i), 4e-3, 2e-4))
        return root

    return make
