"""Shared fixtures: small images written to tmp folders, models with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


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

    def make(folder, targets=("onnx",)):
        import warnings

        from pngan.export import export
        from pngan.models import build, save_weights

        torch.manual_seed(0)
        folder.mkdir(parents=True, exist_ok=True)
        net = build("dncnn", features=8, depth=3).eval()
        weights = save_weights(net, folder / "w.safetensors")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arts = {t: export(net, t, folder / "arts", weights=weights) for t in targets}
        return net, weights, arts

    return make
