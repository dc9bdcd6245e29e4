"""TensorRT logic that needs no TensorRT or GPU: version gate, messages, the ONNX TensorRT is built
from (INT8 explicit-quantization form checked in ONNX Runtime), builder wiring, runner batching/profile.

Nothing here builds or runs an engine. The fake ``tensorrt`` module below records calls only;
its enums are taken from the TensorRT 11.4 API snapshot, so a flag 11.x dropped fails here too
(``tests/test_tensorrt_api.py`` checks every name against each supported version).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from pngan.calibration import CalibrationSource
from pngan.errors import ArtifactError, BackendMissingError, PnganError
from pngan.export import export
from pngan.export import tensorrt_export as trx
from pngan.runtimes import tensorrt_version as trv
from pngan.cli.export_cmd import main as export_main
from pngan.export.job import ExportJob
from pngan.runtimes.precision import detect_precision
from pngan.export.shapes import ShapeSpec
from pngan.models import build, load_model
from pngan.runtimes import tensorrt_runner as trr
from pngan.runtimes.base import InputError

pytestmark = pytest.mark.slow

SNAPSHOT = Path(__file__).parent / "data" / "tensorrt_api" / "11.4.0.106.json"
INSTALL = 'pip install "tensorrt>=10.0,<12"'
MISSING = ("tensorrt is not installed (the 'tensorrt' extra); TensorRT needs an NVIDIA GPU and driver "
           f"(Linux or Windows); there run: {INSTALL}")


@pytest.fixture
def no_tensorrt(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)


# --- version gate and messages -------------------------------------------------------------------

def test_version_gate():
    assert trv.check_version("10.0.1") == (10, 0) and trv.check_version("11.4.0.106") == (11, 4)
    assert trv.check_version("10.14.1.48.post1") == (10, 14)
    for bad in ("9.3.0.1", "12.0.0", "8.6.1", "unknown", ""):
        with pytest.raises(BackendMissingError) as e:
            trv.check_version(bad)
        assert str(e.value) == f"TensorRT {bad} is installed but pngan supports tensorrt>=10.0,<12: {INSTALL}"


def test_missing_tensorrt_says_what_to_install_and_where(tmp_path, no_tensorrt):
    with pytest.raises(BackendMissingError) as e:
        export(build("dncnn", features=8, depth=3), "tensorrt", tmp_path, precision="fp16")
    assert str(e.value) == MISSING and "-e" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_tensorrt_missing_is_one_line(tmp_path, no_tensorrt):
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "tensorrt", "--precision", "int8",
                                         "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [f"error: {MISSING}"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("version", ["9.3.0", "12.1.0"])
def test_cli_tensorrt_outside_the_range_is_one_line(tmp_path, monkeypatch, version):
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__=version))
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "tensorrt", "--precision", "fp16",
                                         "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"error: TensorRT {version} is installed but pngan supports tensorrt>=10.0,<12: {INSTALL}"]
    assert not (tmp_path / "o").exists()


def test_export_all_skips_tensorrt_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="12.0.0"))
    from pngan.export.exporter import available

    assert available("tensorrt", "fp16").endswith(INSTALL)


def test_runner_checks_the_version_first(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="9.3.0"))
    with pytest.raises(BackendMissingError, match="TensorRT 9.3.0 is installed but pngan supports"):
        trr.TensorRTRunner(tmp_path / "model.engine")


# --- shapes and names ----------------------------------------------------------------------------

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


def test_cli_passes_profile_to_tensorrt(tmp_path, monkeypatch):
    seen = {}

    def fake_export(net, target, out, **kw):
        seen.update(kw, target=target)
        folder = out / f"{target}-{kw['precision']}"
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")  # the CLI reads it for its summary line
        return folder

    monkeypatch.setattr("pngan.export.exporter.export", fake_export)
    r = CliRunner().invoke(export_main, ["--model", "dncnn", "--target", "tensorrt", "--precision", "fp16",
                                         "--min-shape", "32", "32", "--opt-shape", "128", "96", "--max-shape", "512", "512",
                                         "--max-batch", "4", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert seen["target"] == "tensorrt" and seen["precision"] == "fp16"
    assert seen["shapes"].profile() == ((1, 3, 32, 32), (1, 3, 128, 96), (4, 3, 512, 512))


# --- the ONNX the engine is built from -----------------------------------------------------------

def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    """Run with every ONNX Runtime graph optimization off: the Q/DQ arithmetic exactly as written."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


@pytest.fixture(scope="module")
def int8_onnx(tmp_path_factory):
    """The shipped DnCNN's INT8 ONNX in TensorRT form, calibrated on 8 noisy 64 x 64 crops of the samples."""
    scratch = tmp_path_factory.mktemp("trt_int8")
    net = load_model("dncnn")
    job = ExportJob("int8", ShapeSpec(), CalibrationSource(None, 8, (64, 64)), info={"model": "dncnn"},
                    scratch=scratch)
    path, fields = trx.tensorrt_onnx(net, job)
    return net, path, fields


def test_int8_onnx_is_in_tensorrt_qdq_form(int8_onnx):
    from onnx import TensorProto, numpy_helper

    _, path, fields = int8_onnx
    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert trx.check_tensorrt_qdq(model) == len(qdq) > 0
    for n in qdq:
        zp = inits[n.input[2]]
        assert zp.data_type == TensorProto.INT8 and not numpy_helper.to_array(zp).any()
        assert inits.get(n.input[0]) is None or inits[n.input[0]].data_type == TensorProto.INT8
    quantizers = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert fields["tensorrt_qdq"]["clips_inserted"] == len(quantizers) > 0
    assert fields["tensorrt_qdq"]["biases_dequantized"] == 8  # one per conv of the 8-layer net
    assert fields["quantization"]["format"] == "QDQ" and detect_precision(path) == "int8"


def test_int8_onnx_keeps_the_denoiser(int8_onnx):
    """Within 0.3 dB of torch on the noisy samples, and far closer to torch than its input is."""
    from pngan.metrics.quality import psnr_float
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.assets.samples import SAMPLES, noisy_sample, sample_image

    net, path, _ = int8_onnx
    rng = np.random.default_rng(1)
    clean = np.stack([sample_image(n).transpose(2, 0, 1) for n in SAMPLES])
    x = np.stack([noisy_sample(c.transpose(1, 2, 0), rng).transpose(2, 0, 1) for c in clean]).astype(np.float32)
    ref, y = TorchRunner(net)(x), _ort(path, x)
    identity = psnr_float(x, ref)  # 29.7 dB measured: what returning the input scores
    assert psnr_float(y, ref) >= max(40.0, identity + 10)  # 47.8 dB measured
    assert psnr_float(y, clean) >= psnr_float(ref, clean) - 0.3  # 32.86 vs 32.95 dB measured


def test_qdq_rewrite_refuses_what_tensorrt_rejects(int8_onnx, tmp_path):
    from onnx import numpy_helper

    _, path, _ = int8_onnx
    model = onnx.load(str(path))
    zp = next(i for i in model.graph.initializer if i.name.endswith("_trt_s8") and i.data_type == onnx.TensorProto.INT8)
    zp.CopyFrom(numpy_helper.from_array(np.array(3, np.int8), zp.name))
    with pytest.raises(PnganError, match="zero points equal to 0"):
        trx.check_tensorrt_qdq(model)
    plain = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    with pytest.raises(PnganError, match="no QuantizeLinear"):
        trx.check_tensorrt_qdq(plain)
    trx.qdq_for_tensorrt(path, tmp_path / "again.onnx")  # already in TensorRT form: unchanged
    assert [n.op_type for n in onnx.load(str(tmp_path / "again.onnx")).graph.node] == \
           [n.op_type for n in onnx.load(str(path)).graph.node]


@pytest.mark.parametrize("precision,expect", [("fp16", "fp16"), ("fp32", "fp32")])
def test_fp16_and_fp32_onnx_routes(tmp_path, precision, expect):
    job = ExportJob(precision, ShapeSpec(), info={"model": "dncnn"}, scratch=tmp_path)
    path, fields = trx.tensorrt_onnx(build("dncnn", features=8, depth=3), job)
    assert detect_precision(path) == expect
    assert ("fp16_converter" in fields) == (precision == "fp16")


# --- builder wiring (fake tensorrt, calls recorded; builds nothing) ------------------------------

def _enum(cls: str, values: dict[str, int] | None = None) -> types.SimpleNamespace:
    members = [m.split(">")[0] for m in json.loads(SNAPSHOT.read_text())["classes"][cls]]
    return types.SimpleNamespace(**{m: (values or {}).get(m, m) for m in members if m not in ("name", "value")})


class FakeTrt:
    """Records what ``build_engine`` asks of TensorRT; enums from the 11.4 snapshot."""

    __version__ = "11.4.0.106"

    def __init__(self, parse_ok=True, build_ok=True, profile_index=0):
        self.calls = []
        fake = self

        class Logger:
            WARNING = 2

            def __init__(self, level):
                pass

        class Profile:
            def set_shape(self, name, lo, opt, hi):
                fake.calls.append(("set_shape", name, tuple(lo), tuple(opt), tuple(hi)))

        class Config:
            def set_memory_pool_limit(self, pool, size):
                fake.calls.append(("pool", pool, size))

            def add_optimization_profile(self, p):
                return profile_index

            def set_flag(self, flag):
                fake.calls.append(("set_flag", flag))

            def clear_flag(self, flag):
                fake.calls.append(("clear_flag", flag))

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                fake.calls.append(("network", flags))
                return object()

            def create_builder_config(self):
                return Config()

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, network, config):
                return b"ENGINE" if build_ok else None

        class OnnxParser:
            num_errors = 1

            def __init__(self, network, logger):
                pass

            def parse_from_file(self, path):
                return parse_ok

            def get_error(self, i):
                return "In node 3 (Conv): Unsupported op Foo"

        self.Logger, self.Builder, self.OnnxParser = Logger, Builder, OnnxParser
        self.BuilderFlag = _enum("BuilderFlag")
        self.MemoryPoolType = _enum("MemoryPoolType")
        self.NetworkDefinitionCreationFlag = _enum("NetworkDefinitionCreationFlag", {"STRONGLY_TYPED": 1})


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_build_engine_is_strongly_typed_without_precision_flags(tmp_path, monkeypatch, precision):
    fake = FakeTrt()
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    job = ExportJob(precision, ShapeSpec(min_hw=(16, 16), opt_hw=(32, 32), max_hw=(64, 64), max_batch=2))
    engine, fields = trx.build_engine(tmp_path / "m.onnx", job)
    assert engine == b"ENGINE" and fields["network"] == "strongly typed"
    assert ("network", 1 << 1) in fake.calls
    assert ("set_shape", "input", (1, 3, 16, 16), (1, 3, 32, 32), (2, 3, 64, 64)) in fake.calls
    assert not [c for c in fake.calls if c[0] == "set_flag"]  # precision comes from the ONNX
    assert (("clear_flag", "TF32") in fake.calls) == (precision == "fp32") == (not fields["tf32"])
    assert not hasattr(fake.BuilderFlag, "FP16") and not hasattr(fake.BuilderFlag, "INT8")


def test_build_engine_never_claims_a_failed_build(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTrt(parse_ok=False))
    with pytest.raises(PnganError, match="cannot parse.*Unsupported op Foo"):
        trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16"))
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTrt(profile_index=-1))
    with pytest.raises(PnganError, match=r"rejected the shape profile min \(1, 3, 16, 16\)"):
        trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16"))
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTrt(build_ok=False))
    with pytest.raises(PnganError, match="failed to build the engine"):
        trx.build_engine(tmp_path / "m.onnx", ExportJob("fp16"))


# --- runner: profile, batching, set_input_shape --------------------------------------------------

def test_batch_chunks():
    assert trr.batch_chunks(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert trr.batch_chunks(3, 4) == [(0, 3)] and trr.batch_chunks(4, 1) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    with pytest.raises(ArtifactError):
        trr.batch_chunks(3, 0)


def test_shapes_outside_the_profile_are_one_line():
    lo, hi = (1, 3, 16, 16), (4, 3, 512, 256)
    trr.check_in_profile((9, 3, 16, 256), lo, hi)  # batch is split, not checked
    for shape in [(1, 3, 15, 64), (1, 3, 64, 257), (1, 1, 64, 64)]:
        with pytest.raises(InputError) as e:
            trr.check_in_profile(shape, lo, hi)
        assert "\n" not in str(e.value) and "outside the TensorRT engine's shape profile (min 1 x 3 x 16 x 16, " \
                                           "max 4 x 3 x 512 x 256)" in str(e.value)


class FakeContext:
    def __init__(self, accept=True, out=(2, 3, 32, 32)):
        self.accept, self.out, self.shapes = accept, out, []

    def set_input_shape(self, name, shape):
        self.shapes.append((name, shape))
        return self.accept

    def get_tensor_shape(self, name):
        return self.out


def test_set_input_shape_result_is_checked():
    ctx = FakeContext()
    assert trr.bind_input_shape(ctx, "input", "output", (2, 3, 32, 32)) == (2, 3, 32, 32)
    assert ctx.shapes == [("input", (2, 3, 32, 32))]
    with pytest.raises(InputError, match=r"^TensorRT refused input shape 2 x 3 x 32 x 32 \(outside"):
        trr.bind_input_shape(FakeContext(accept=False), "input", "output", (2, 3, 32, 32))
    with pytest.raises(ArtifactError, match="left output shape"):
        trr.bind_input_shape(FakeContext(out=(-1, 3, 32, 32)), "input", "output", (2, 3, 32, 32))


def test_runner_splits_batches_larger_than_the_profile():
    runner = object.__new__(trr.TensorRTRunner)
    runner.profile_min, runner.profile_max = (1, 3, 8, 8), (2, 3, 64, 64)
    seen = []

    def run_batch(x):
        seen.append(x.shape[0])
        return x[:, ::-1] * 0.5

    runner._run_batch = run_batch
    x = np.random.default_rng(0).random((5, 3, 16, 24), dtype=np.float32)
    y = runner._run(x)
    assert seen == [2, 2, 1]
    np.testing.assert_array_equal(y, x[:, ::-1] * 0.5)
    with pytest.raises(InputError, match="outside the TensorRT engine's shape profile"):
        runner._run(np.zeros((1, 3, 65, 8), np.float32))
    with pytest.raises(InputError, match="no images"):
        runner._run(np.zeros((0, 3, 16, 16), np.float32))
