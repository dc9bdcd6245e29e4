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
