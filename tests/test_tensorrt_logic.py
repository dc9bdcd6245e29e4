"""TensorRT logic that needs no TensorRT: calibrator batching/cache, profiles, naming, missing extra, CLI."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pngan.calibration import BatchStream, CalibrationCache, CalibrationSource
from pngan.errors import BackendMissingError, PnganError
from pngan.export import export
from pngan.export import tensorrt_export as trx
from pngan.export.cli import main as export_main
from pngan.export.job import ExportJob
from pngan.export.shapes import ShapeSpec
from pngan.models import build


@pytest.fixture
def no_tensorrt(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)


@pytest.fixture
def source(tmp_path):
    d = tmp_path / "calib"
    d.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / "a.png")
    return CalibrationSource(d, samples=5, crop=(16, 16))


class FakeDevice:
    """Stands in for CUDA memory: remembers each batch, returns fake addresses."""

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch.copy())
        return 1000 + len(self.batches)


def test_calibrator_core_batches_then_none(source, tmp_path):
    dev = FakeDevice()
    core = trx.CalibratorCore(BatchStream(source, 2), CalibrationCache(tmp_path / "c.cache"), dev)
    assert core.get_batch_size() == 2
    assert core.get_batch(["input"]) == [1001] and core.get_batch(["input"]) == [1002]
    assert core.get_batch(["input"]) is None  # 5 samples -> 2 full batches, partial dropped
    assert core.batches_served == 2 and dev.batches[0].shape == (2, 3, 16, 16)
    np.testing.assert_array_equal(dev.batches[1][1:2], source.inputs()[3])


def test_calibrator_core_cache_write_then_read(source, tmp_path):
    path = tmp_path / "calibration.cache"
    core = trx.CalibratorCore(BatchStream(source, 1), CalibrationCache(path), FakeDevice())
    assert core.read_calibration_cache() is None  # first build: TensorRT calibrates
    core.write_calibration_cache(memoryview(b"TRT-cache"))
    again = trx.CalibratorCore(BatchStream(source, 1), CalibrationCache(path), FakeDevice())
    assert again.read_calibration_cache() == b"TRT-cache"  # later builds reuse it


def test_trt_adapter_delegates_to_core(source, tmp_path, monkeypatch):
    class IInt8EntropyCalibrator2:
        def __init__(self):
            self.base_init = True

    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(IInt8EntropyCalibrator2=IInt8EntropyCalibrator2))
    core = trx.CalibratorCore(BatchStream(source, 2), CalibrationCache(tmp_path / "c"), FakeDevice())
    cal = trx.make_trt_calibrator(core)
    assert isinstance(cal, IInt8EntropyCalibrator2) and cal.base_init
    assert cal.get_batch_size() == 2 and cal.get_batch(["input"]) == [1001]
    cal.write_calibration_cache(b"x")
    assert cal.read_calibration_cache() == b"x"


def test_profile_computation():
    lo, opt, hi = ShapeSpec(min_hw=(32, 48), opt_hw=(256, 256), max_hw=(1080, 1920), opt_batch=2, max_batch=4).profile()
    assert lo == (1, 3, 32, 48) and opt == (2, 3, 256, 256) and hi == (4, 3, 1080, 1920)
    assert ShapeSpec(fixed=(240, 320)).profile() == ((1, 3, 240, 320),) * 3
    assert ShapeSpec(fixed=(240, 320)).calib_hw == (240, 320) and ShapeSpec().calib_hw == (256, 256)
    with pytest.raises(PnganError, match="height: need min <= opt <= max"):
        ShapeSpec(min_hw=(300, 16), opt_hw=(256, 256))
    with pytest.raises(PnganError, match="opt batch"):
        ShapeSpec(opt_batch=3, max_batch=2)


def test_engine_file_naming():
    assert trx.engine_filename("fp16") == "model.engine" == trx.engine_filename("int8")
    with pytest.raises(PnganError):
        trx.engine_filename("int4")


class FakeTrt:
    """The slice of the TensorRT 10 API that build_engine uses, recording the calls."""

    def __init__(self, parse_ok=True, build_ok=True):
        self.calls, self.parse_ok, self.build_ok = [], parse_ok, build_ok
        fake = self

        class Logger:
            WARNING = 2

            def __init__(self, level):
                pass

        class Profile:
            def set_shape(self, name, lo, opt, hi):
                fake.calls.append(("set_shape", name, tuple(lo), tuple(opt), tuple(hi)))

        class Config:
            int8_calibrator = None

            def set_memory_pool_limit(self, pool, size):
                pass

            def add_optimization_profile(self, p):
                fake.calls.append(("profile",))

            def set_flag(self, flag):
                fake.calls.append(("flag", flag))

            def set_calibration_profile(self, p):
                fake.calls.append(("calibration_profile",))

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                return object()

            def create_builder_config(self):
                fake.config = Config()
                return fake.config

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, network, config):
                return b"ENGINE" if fake.build_ok else None

        class OnnxParser:
            num_errors = 1

            def __init__(self, network, logger):
                pass

            def parse_from_file(self, path):
                return fake.parse_ok

            def get_error(self, i):
                return "Unsupported op Foo"

        self.Logger, self.Builder, self.OnnxParser = Logger, Builder, OnnxParser
        self.IInt8EntropyCalibrator2 = type("IInt8EntropyCalibrator2", (), {"__init__": lambda self: None})
        self.BuilderFlag = types.SimpleNamespace(FP16="FP16", INT8="INT8")
        self.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")


def test_build_engine_wiring_with_fake_trt(source, tmp_path, monkeypatch):
    fake = FakeTrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setattr(trx, "TorchCudaBuffer", FakeDevice)
    job = ExportJob("int8", ShapeSpec(min_hw=(16, 16), opt_hw=(16, 16), max_hw=(64, 64)), source)
    engine, fields = trx.build_engine(tmp_path / "m.onnx", job, tmp_path / "calibration.cache")
    assert engine == b"ENGINE"
    assert ("set_shape", "input", (1, 3, 16, 16), (1, 3, 16, 16), (1, 3, 64, 64)) in fake.calls
    assert ("flag", "INT8") in fake.calls and ("flag", "FP16") in fake.calls and ("calibration_profile",) in fake.calls
    assert fake.config.int8_calibrator.get_batch_size() == 5 and fields["int8_calibrator"]["cache"] == "calibration.cache"
    fp16 = FakeTrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fp16)
    trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16", ShapeSpec()), tmp_path / "c")
    assert ("flag", "INT8") not in fp16.calls and fp16.config.int8_calibrator is None


def test_build_engine_never_claims_a_failed_build(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTrt(parse_ok=False))
    with pytest.raises(PnganError, match="cannot parse.*Unsupported op Foo"):
        trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16"), tmp_path / "c")
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTrt(build_ok=False))
    with pytest.raises(PnganError, match="failed to build the engine"):
        trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16"), tmp_path / "c")


def test_missing_tensorrt_names_the_extra(tmp_path, no_tensorrt):
    with pytest.raises(BackendMissingError, match="tensorrt is not installed; install the 'tensorrt' extra"):
        export(build("dncnn", features=8, depth=3), "tensorrt", tmp_path, precision="fp16")
    assert list(tmp_path.iterdir()) == []


def test_cli_tensorrt_missing_is_one_line(tmp_path, no_tensorrt):
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "tensorrt", "--precision", "int8",
                                         "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: tensorrt is not installed; install the 'tensorrt' extra: pip install -c constraints.txt -e \".[tensorrt]\""]
    assert not (tmp_path / "o").exists()


def test_cli_passes_profile_to_tensorrt(tmp_path, monkeypatch):
    seen = {}

    def fake_export(net, target, out, **kw):
        seen.update(kw, target=target)
        return out

    monkeypatch.setattr("pngan.export.exporter.export", fake_export)
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "tensorrt", "--precision", "fp16",
                                         "--min-shape", "32", "32", "--opt-shape", "128", "96", "--max-shape", "512", "512",
                                         "--max-batch", "4", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert seen["target"] == "tensorrt" and seen["precision"] == "fp16"
    assert seen["shapes"].profile() == ((1, 3, 32, 32), (1, 3, 128, 96), (4, 3, 512, 512))
