"""The table of formats and what derives from it; the sub-pixel rewrite of transposed convolutions (torch only)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pngan.runtimes import formats
from pngan.runtimes.formats import FORMATS

ROOT = Path(__file__).resolve().parents[1]


def test_every_reference_in_the_table_resolves():
    for f in FORMATS.values():
        assert f.model_file == f"model{f.suffix}" and set(f.precisions) <= set(formats.PRECISIONS)
        assert set(f.bench) <= set(f.precisions) and f.shapes in ("range", "sizes")
        for ref in (f.exporter, f.require, f.runner, f.precision_of, f.metadata_of):
            if ref:
                assert callable(formats.load(ref)), ref


def test_everything_derives_from_the_table():
    from pngan.cli.export_cmd import TARGET_CHOICES
    from pngan.export.exporter import TARGETS
    from pngan.export.validate import fix_hint
    from pngan.runtimes.opening import MODEL_SUFFIXES, RUNNERS
    from pngan.runtimes.artifacts import MODEL_FILES

    assert TARGET_CHOICES == [*FORMATS, "all"] and list(TARGETS) == list(FORMATS) == list(RUNNERS)
    assert {"model.pte", "model.tflite", "model.bin", "model.onnx"} <= set(MODEL_FILES)
    assert MODEL_SUFFIXES == {".onnx": "onnx", ".xml": "openvino"}
    assert fix_hint("litert") == FORMATS["litert"].int8_fix and formats.by_suffix(".PTE").name == "executorch"
    with pytest.raises(Exception, match="unknown target 'tflite'; choose one of: onnx, .*litert, all"):
        formats.get("tflite")


def test_every_extra_is_declared_and_installed_by_all():
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    extras = dict(re.findall(r'^(\w+) = \[(.*)\]', text.split("[project.optional-dependencies]")[1], re.M))
    everything = re.search(r'pngan\[([\w,]+)\]', extras["all"]).group(1).split(",")
    for f in FORMATS.values():
        assert f.extra in extras, f.extra
        if f.extra != "tensorrt":  # needs NVIDIA's index and a GPU
            assert f.extra in everything, f.extra


def test_bench_columns_come_from_the_table():
    import runpy

    g = runpy.run_path(str(ROOT / "scripts" / "bench_runtimes.py"), run_name="bench")
    assert ("executorch", "int8") in g["VARIANTS"] and ("litert", "fp32") in g["VARIANTS"]
    assert all(FORMATS[t].device == "cpu" for t, _ in g["VARIANTS"]) and "executorch-int8" in g["TARGETS"]


def test_formats_table_is_torch_free():
    import subprocess

    code = "import sys, pngan.runtimes.formats, pngan.cli.export_cmd; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- the sub-pixel form of stride-s transposed convolutions ----------------------------------------

@pytest.mark.parametrize("k,s,p,op", [(3, 2, 1, 1), (4, 2, 1, 0), (2, 2, 0, 0), (5, 3, 1, 0)])
def test_subpixel_rewrite_is_the_same_linear_map(k, s, p, op):
    from pngan.export.rewrite import SubPixelConvTranspose2d, rewritable

    torch.manual_seed(0)
    ct = torch.nn.ConvTranspose2d(5, 7, k, stride=s, padding=p, output_padding=op).double()
    assert rewritable(ct)
    x = torch.randn(2, 5, 9, 11, dtype=torch.double)
    with torch.no_grad():
        assert torch.allclose(SubPixelConvTranspose2d(ct).double()(x), ct(x), atol=1e-12, rtol=0)


def test_subpixel_rewrite_keeps_the_shipped_generator():
    from pngan.export.rewrite import rewritable, subpixel_upsampling
    from pngan.metrics import psnr_float
    from pngan.models import load_model

    net = load_model("smnet-s")
    mobile, n = subpixel_upsampling(net)
    assert n == sum(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules()) > 0
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in mobile.modules())
    assert mobile.pngan_name == "smnet-s" and any(rewritable(m) for m in net.modules())  # the original is kept
    x = torch.rand(1, 3, 60, 84, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        db = psnr_float(net(x).numpy(), mobile(x).numpy())
    assert db >= 100.0, db
    assert subpixel_upsampling(torch.nn.Conv2d(3, 3, 3))[1] == 0
    assert not rewritable(torch.nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1))  # 2H - 1: not a sub-pixel map


def test_signature_sizes_and_their_parser():
    from pngan.errors import PnganError
    from pngan.export.shapes import ShapeSpec, parse_sizes

    assert parse_sizes("256x256, 512X384,256x256") == ((256, 256), (512, 384))
    for bad in ("256", "0x4", "axb", "256x"):
        with pytest.raises(PnganError, match="HxW"):
            parse_sizes(bad)
    assert ShapeSpec().signature_sizes() == ((256, 256), (512, 512))
    assert ShapeSpec(fixed=(64, 48)).signature_sizes() == ((64, 48),)
    assert ShapeSpec(sizes=((32, 32),)).summary("sizes") == {"signatures": [[1, 3, 32, 32]]}
    assert np.array_equal(ShapeSpec(opt_hw=(300, 300), max_hw=(512, 512)).signature_sizes(), ((300, 300), (512, 512)))
