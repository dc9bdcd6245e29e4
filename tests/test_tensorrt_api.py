"""Every TensorRT name the export and runner use exists in the real bindings of each supported version.

No TensorRT runs here. ``tests/data/tensorrt_api/<version>.json`` are snapshots of the class
and member names of the real ``tensorrt-cu12-bindings`` wheels (``scripts/trt_api_snapshot.py``).
The uses are collected statically (``ast``) from the source: ``trt.X``, ``trt.X.Y``, and members
of TensorRT objects, typed from constructors (``trt.Builder(...)``), return types recorded in
the snapshot (``builder.create_builder_config()`` -> ``IBuilderConfig``) and ``trt.`` annotations.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from pngan.runtimes import tensorrt_version as trv

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).parent / "data" / "tensorrt_api"
SOURCES = (ROOT / "export" / "tensorrt_export.py", ROOT / "runtimes" / "tensorrt_runner.py")

Use = tuple[str, str, int]  # (class or "" for the module, member, line)


class Api:
    """One snapshot: module names, and per class its members and what each returns."""

    def __init__(self, path: Path) -> None:
        snap = json.loads(path.read_text())
        self.version = snap["version"]
        self.module = set(snap["module"]) | set(snap["classes"])
        self.members = {c: {m.split(">")[0] for m in ms} for c, ms in snap["classes"].items()}
        self.returns = {(c, m.split(">")[0]): m.split(">")[1] for c, ms in snap["classes"].items()
                        for m in ms if ">" in m}

    def has(self, cls: str, member: str) -> bool:
        if cls == "":
            return member in self.module
        dunder = member.startswith("__") and cls in self.members  # __init__ & co. (not snapshotted)
        return dunder or member in self.members.get(cls, ())


def release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("post")[0]))


def snapshots() -> list[Api]:
    return sorted((Api(p) for p in SNAPSHOTS.glob("*.json")), key=lambda a: release(a.version))


class Collector:
    """Static uses of the TensorRT API in one source file, typed against one snapshot.

    A type is ``("mod",)`` (the tensorrt module), ``("cls", C)`` (the class object),
    ``("obj", C)`` (an instance of C) or ``("ret", C)`` (a method returning C, or a property
    holding one). Names are typed per function; ``self.x`` per class.
    """

    def __init__(self, source: str, api: Api) -> None:
        self.tree, self.api = ast.parse(source), api
        self.aliases = self._aliases()

    def _aliases(self) -> set[str]:
        names = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                names |= {a.asname or a.name for a in node.names if a.name == "tensorrt"}
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and getattr(node.value.func, "id", None) == "require_tensorrt":
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        return names

    def typeof(self, e: ast.AST, env: dict[str, tuple]) -> tuple | None:
        if isinstance(e, ast.Name):
            return ("mod",) if e.id in self.aliases else env.get(e.id)
        if isinstance(e, ast.Attribute):
            key = self._key(e)
            if key in env:
                return env[key]
            base = self.typeof(e.value, env)
            if base == ("mod",):
                return ("cls", e.attr) if e.attr in self.api.members else None
            if base is not None:  # a method or property: what it returns (a class in the snapshot)
                ret = self.api.returns.get((base[1], e.attr))
                return ("ret", ret) if ret else None
        if isinstance(e, ast.Call):
            f = self.typeof(e.func, env)
            if f and f[0] in ("cls", "ret"):
                return ("obj", f[1])
        return None

    @staticmethod
    def _key(e: ast.AST) -> str | None:
        if isinstance(e, ast.Name):
            return e.id
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
            return f"self.{e.attr}"
        return None

    def _env(self, fn: ast.AST, env: dict[str, tuple]) -> dict[str, tuple]:
        env = dict(env)
        args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
        for a in args:
            t = self.typeof(a.annotation, env) if a.annotation is not None else None
            if t and t[0] == "cls":
                env[a.arg] = ("obj", t[1])
        for _ in range(3):  # to a fixpoint: assignments may come in any order
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    key, t = self._key(node.targets[0]), self.typeof(node.value, env)
                    if key and t and t[0] != "mod":
                        env[key] = t
        return env

    def uses(self) -> list[Use]:
        out: list[Use] = []
        scopes: list[tuple[ast.AST, dict]] = []
        for cls in [n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)]:
            methods = [m for m in cls.body if isinstance(m, ast.FunctionDef)]
            self_env: dict[str, tuple] = {}
            for _ in range(3):
                for m in methods:
                    env = self._env(m, self_env)
                    self_env.update({k: v for k, v in env.items() if k.startswith("self.")})
            scopes += [(m, self._env(m, self_env)) for m in methods]
        in_class = {id(m) for m, _ in scopes}
        scopes += [(f, self._env(f, {})) for f in ast.walk(self.tree)
                   if isinstance(f, ast.FunctionDef) and id(f) not in in_class]
        scopes.append((self.tree, {}))
        seen = set()
        for scope, env in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Attribute) and id(node) not in seen:
                    seen.add(id(node))
                    base = self.typeof(node.value, env)
                    if base == ("mod",):
                        out.append(("", node.attr, node.lineno))
                    elif base:
                        out.append((base[1], node.attr, node.lineno))
        return out


def missing(source: str, api: Api) -> list[str]:
    """``Class.member (line N)`` for each use ``api`` lacks."""
    return sorted({f"{c + '.' if c else 'trt.'}{m} (line {ln})" for c, m, ln in Collector(source, api).uses()
                   if not api.has(c, m)})


def claimed_range() -> tuple[tuple[int, int], tuple[int, int]]:
    """``(lowest, first unsupported)`` from pyproject's ``tensorrt`` extra, checked equal to the code's."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    reqs = [r for r in extras["tensorrt"] if re.match(r"tensorrt\b", r)]
    assert reqs == [trv.TENSORRT_REQUIREMENT], f"pyproject's tensorrt extra {extras['tensorrt']} != the code's"
    m = re.fullmatch(r"tensorrt>=(\d+)\.(\d+),<(\d+)", reqs[0])
    assert m, f"expected tensorrt>=A.B,<C, got {reqs[0]}"
    lo, below = (int(m[1]), int(m[2])), (int(m[3]), 0)
    assert (lo, below) == (trv.TENSORRT_MIN, trv.TENSORRT_BELOW)
    return lo, below


def supported() -> list[Api]:
    lo, below = claimed_range()
    return [a for a in snapshots() if lo <= release(a.version)[:2] < below]


def test_snapshots_cover_the_claimed_range():
    lo, below = claimed_range()
    versions = [release(a.version) for a in supported()]
    assert any(v[:2] == lo for v in versions), "no snapshot of the lowest supported version"
    assert {v[0] for v in versions} == set(range(lo[0], below[0])), "need a snapshot of each supported major"
    for a in snapshots():  # the runtime gate agrees with the declared range
        if lo <= release(a.version)[:2] < below:
            assert trv.check_version(a.version) == release(a.version)[:2]
        else:
            with pytest.raises(trv.TensorRTMissingError):
                trv.check_version(a.version)


def test_collector_finds_the_calls_that_matter():
    api = supported()[-1]
    uses = {(c, m) for src in SOURCES for c, m, _ in Collector(src.read_text(), api).uses()}
    expected = {("", "Builder"), ("NetworkDefinitionCreationFlag", "STRONGLY_TYPED"), ("Builder", "create_network"),
                ("Builder", "create_builder_config"), ("IBuilderConfig", "add_optimization_profile"),
                ("IOptimizationProfile", "set_shape"), ("OnnxParser", "parse_from_file"),
                ("Builder", "build_serialized_network"), ("Runtime", "deserialize_cuda_engine"),
                ("ICudaEngine", "create_execution_context"), ("ICudaEngine", "get_tensor_profile_shape"),
                ("IExecutionContext", "set_input_shape"), ("IExecutionContext", "execute_async_v3"),
                ("IExecutionContext", "set_tensor_address"), ("", "__version__")}
    assert expected <= uses, expected - uses
    assert len(uses) >= 30


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_trt_name_exists_in_each_supported_version(source):
    text = source.read_text()
    problems = {a.version: missing(text, a) for a in supported()}
    assert not any(problems.values()), {v: p for v, p in problems.items() if p}


OLD_BUILD = '''
import tensorrt as trt

def build_engine(onnx_path, job, core):
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = make_trt_calibrator(core)
    calib_profile = builder.create_optimization_profile()
    config.set_calibration_profile(calib_profile)
    return builder.build_serialized_network(network, config)

def make_trt_calibrator(core):
    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        pass
    return EntropyCalibrator()
'''


def test_the_check_catches_the_implicit_calibrator_on_tensorrt_11():
    """The pre-rework export (INT8 by implicit calibration, weakly typed flags) fails on 11.x, passes on 10.x."""
    by_version = {a.version: missing(OLD_BUILD, a) for a in snapshots()}
    assert by_version["10.0.1"] == [] and by_version["10.16.1.11"] == []
    for v in ("11.0.0.114", "11.4.0.106"):
        found = {m.split(" ")[0] for m in by_version[v]}
        assert found == {"trt.IInt8EntropyCalibrator2", "IBuilderConfig.int8_calibrator",
                         "IBuilderConfig.set_calibration_profile", "BuilderFlag.FP16", "BuilderFlag.INT8"}, found


def test_the_check_sees_through_annotations_and_self():
    src = '''
import tensorrt as trt
class R:
    def __init__(self):
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        self.engine = self.runtime.deserialize_cuda_engine(b"")
        self.ctx = self.engine.create_execution_context()
    def run(self):
        self.ctx.execute_async_v2(0)
def bind(context: trt.IExecutionContext):
    context.set_binding_shape(0, (1,))
'''
    api = supported()[-1]
    assert [m.split(" ")[0] for m in missing(src, api)] == ["IExecutionContext.execute_async_v2",
                                                            "IExecutionContext.set_binding_shape"]


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("trt_api_snapshot", ROOT / "scripts" / "trt_api_snapshot.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_snapshots_are_the_scripts_output_unedited():
    script = _script()
    for path in SNAPSHOTS.glob("*.json"):
        snap = json.loads(path.read_text())
        assert path.name == f"{snap['version']}.json" and snap["made_by"] == "scripts/trt_api_snapshot.py"
        assert script.WHEEL.match(snap["wheel"])["version"] == snap["version"] and len(snap["wheel_sha256"]) == 64
        assert script.dumps(snap) == path.read_text()


def test_snapshot_script_bad_input_is_one_line(tmp_path, capsys):
    script = _script()
    bad = tmp_path / "notes.whl"
    bad.write_text("x")
    assert script.main([str(bad), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == "error: notes.whl: not a tensorrt-cu*-bindings wheel\n"
    fake = tmp_path / f"tensorrt_cu12_bindings-11.4.0.106-cp{sys.version_info[0]}{sys.version_info[1]}-none-x.whl"
    fake.write_text("not a zip")
    assert script.main([str(fake), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.startswith("error: File is not a zip file")
    assert not (tmp_path / "out").exists()
