"""INT8 root cause regression: the input quantizer is pinned to [0, 1], not to the calibration crops' range.

A residual denoiser (``x - body(x)``) passes its input to the output through the input
quantizer; calibrated on dark photos, NNCF's default range clipped every brighter pixel
(-3 to -6 dB on real PolyU photos). Calibrate on dark images, run on bright ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

from pngan.export import export  # noqa: E402
from pngan.export.shapes import ShapeSpec  # noqa: E402
from pngan.metrics import psnr_float  # noqa: E402
from pngan.models import build  # noqa: E402
from pngan.runtimes.opening import open_artifact  # noqa: E402
from pngan.runtimes.torch_runner import TorchRunner  # noqa: E402


@pytest.mark.parametrize("target", ["onnx", "openvino"])
def test_dark_calibration_does_not_clip_bright_inputs(tmp_path, target):
    if target == "openvino":
        pytest.importorskip("nncf", reason="the 'openvino' extra is not installed")
    torch.manual_seed(0)
    net = build("dncnn", features=8, depth=3).eval()
    dark = tmp_path / "dark"
    dark.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 100, (40, 40, 3), dtype=np.uint8)).save(dark / f"{i}.png")  # <= 0.39
    folder = export(net, target, tmp_path / "o", precision="int8", calib_dir=dark, calib_samples=4,
                    shapes=ShapeSpec(min_hw=(8, 8), opt_hw=(32, 32), max_hw=(64, 64)), validate=False)
    bright = (rng.integers(150, 256, (1, 3, 32, 32)) / 255.0).astype(np.float32)  # 8-bit levels, >= 0.59
    with open_artifact(folder) as runner:
        db = psnr_float(TorchRunner(net)(bright), runner(bright))
    assert db > 40.0, f"{target} INT8 clips inputs brighter than its calibration data: {db:.1f} dB"
