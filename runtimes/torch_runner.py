"""PyTorch eager runner: the reference every exported artifact is compared against."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from pngan.models.inference import InferenceModel
from pngan.runtimes.base import BaseRunner


class TorchRunner(BaseRunner):
    """Runs a registered model in eager PyTorch (float32, no grad).

    ``threads`` sets ``torch.set_num_threads`` (process-wide: torch has no per-model pool).
    """

    backend = "torch"

    def __init__(self, net: nn.Module, device: str = "cpu", threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.device = device
        self.model = InferenceModel(net).to(device).eval()
        self.model_name = getattr(net, "pngan_name", type(net).__name__)

    @torch.inference_mode()
    def _run(self, x: np.ndarray) -> np.ndarray:
        y = self.model(torch.from_numpy(x).to(self.device))
        return y.float().cpu().numpy()

    def close(self) -> None:
        self.model = None
        super().close()
