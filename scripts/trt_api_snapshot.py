"""Snapshot the Python API of real TensorRT bindings wheels: class and member names, per version.

``tests/test_tensorrt_api.py`` checks every ``trt.`` name that ``export/tensorrt_export.py``
and ``runtimes/tensorrt_runner.py`` use against these snapshots, for each TensorRT version
the code claims to support. TensorRT cannot run without an NVIDIA GPU and its libraries,
but the bindings wheel (``tensorrt-cu12-bindings``, ~1.3 MB) holds the whole pybind11 API.
This script imports the real extension module with stand-in ``libnvinfer*`` libraries
whose every function prints its name and aborts (so nothing of TensorRT ever runs; the
bindings only need those symbols to load), and lists what it registers: module-level
names that are not classes, and for each class its members, with the TensorRT class a method or property
returns (read from pybind11's signature line) as ``member>Class``.

When a TensorRT version appears (or the supported range changes), on Linux x86-64 with
the Python version the wheel is built for (cp311 here), gcc and binutils:

    pip download --no-deps --only-binary=:all: --python-version 3.11 -d /tmp/trt \\
        "tensorrt-cu12-bindings==11.4.0.106" "tensorrt-cu12-bindings==10.0.1"
    python scripts/trt_api_snapshot.py /tmp/trt/tensorrt_cu12_bindings-*.whl

It writes ``tests/data/tensorrt_api/<version>.json`` (``--out`` to change the folder).
Keep a snapshot of the lowest supported version and of the newest release of each
supported major version; ``pip index versions tensorrt-cu12-bindings`` lists them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tensorrt_api"
WHEEL = re.compile(r"^tensorrt_cu\d+_bindings-(?P<version>[^-]+)-(?P<py>cp\d+)-")

# Runs in a child process with the stub libraries on LD_LIBRARY_PATH: prints the API as JSON.
DUMP = r"""
import json, re, sys, types
sys.path.insert(0, sys.argv[1])
mod = __import__(sys.argv[2])
top = [n for n in sorted(dir(mod)) if not n.startswith("_") and not isinstance(getattr(mod, n), types.ModuleType)]
ret = re.compile(r"->\s*([\w.]+)\s*$")

def returns(obj):  # the class every signature (all overloads) of a method/property returns, or ""
    fn = getattr(obj, "fget", obj)
    lines = (getattr(fn, "__doc__", None) or "").strip().splitlines()
    sigs = lines[:1] + [ln for ln in lines if re.match(r"\d+\. \w+\(", ln)]
    names = {m.group(1).rsplit(".", 1)[-1] for m in map(ret.search, sigs) if m}
    name = names.pop() if len(names) == 1 else ""
    return name if name in top and isinstance(getattr(mod, name), type) else ""

classes = {}
for name in top:
    cls = getattr(mod, name)
    if isinstance(cls, type):
        members = []
        for m in sorted(dir(cls)):
            if m.startswith("__") or m.startswith("_pybind11"):
                continue
            r = returns(getattr(cls, m, None))
            members.append(m + (">" + r if r else ""))
        classes[name] = members
others = [n for n in top if n not in classes] + ["__version__"]
print(json.dumps({"version": mod.__version__, "module": others, "classes": classes}))
"""

STUB = '#include <stdio.h>\n#include <stdlib.h>\n{defs}\n'
STUB_FN = 'void *{name}(void) {{ fprintf(stderr, "stub {name} called\\n"); abort(); }}'


class SnapshotError(Exception):
    """One-line failure (bad wheel, missing tool)."""


def run(cmd: list[str], **kw) -> str:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    except FileNotFoundError:
        raise SnapshotError(f"{cmd[0]} not found (needs gcc and binutils)") from None
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip().splitlines()
        raise SnapshotError(f"{' '.join(cmd[:2])} failed: {tail[-1] if tail else e.returncode}") from None


def build_stubs(ext: Path, stub_dir: Path) -> None:
    """Stand-ins for the ``libnv*`` libraries ``ext`` needs, defining its undefined TensorRT symbols."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(libnv[^\]]+)\]", run(["readelf", "-d", str(ext)]))
    symbols = sorted({line.split()[-1] for line in run(["nm", "-D", "--undefined-only", str(ext)]).splitlines()
                      if line.split()[:1] == ["U"] and "@" not in line
                      and not re.match(r"_?Py|dl(open|sym|close|error)$", line.split()[-1])})
    src = stub_dir / "stub.c"
    src.write_text(STUB.format(defs="\n".join(STUB_FN.format(name=s) for s in symbols)))
    for lib in needed:
        run(["gcc", "-shared", "-fPIC", "-o", str(stub_dir / lib), str(src)])


def snapshot(wheel: Path) -> dict:
    """The API of one bindings wheel: ``{"version", "wheel", "wheel_sha256", "module", "classes"}``."""
    m = WHEEL.match(wheel.name)
    if not m:
        raise SnapshotError(f"{wheel.name}: not a tensorrt-cu*-bindings wheel")
    here = f"cp{sys.version_info.major}{sys.version_info.minor}"
    if m["py"] != here:
        raise SnapshotError(f"{wheel.name} is for {m['py']}; run this script with that Python (this is {here}), "
                            f"or download with --python-version {sys.version_info.major}.{sys.version_info.minor}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(root / "site")
        exts = sorted((root / "site").glob("*/tensorrt*.so"))
        if not exts:
            raise SnapshotError(f"{wheel.name}: no tensorrt*.so extension inside")
        (root / "stubs").mkdir()
        build_stubs(exts[0], root / "stubs")
        env = {"LD_LIBRARY_PATH": str(root / "stubs"), "PATH": "/usr/bin:/bin"}
        api = json.loads(run([sys.executable, "-c", DUMP, str(root / "site"), exts[0].parent.name], env=env))
    if api["version"] != m["version"]:
        raise SnapshotError(f"{wheel.name}: the module says version {api['version']}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return {"version": api["version"], "wheel": wheel.name, "wheel_sha256": digest,
            "made_by": "scripts/trt_api_snapshot.py", "module": api["module"], "classes": api["classes"]}


def dumps(snap: dict) -> str:
    """JSON with one class per line (small diffs between versions)."""
    head = {k: v for k, v in snap.items() if k not in ("module", "classes")}
    lines = [json.dumps(head)[:-1] + ",", f' "module": {json.dumps(snap["module"])},', ' "classes": {']
    rows = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in snap["classes"].items()]
    return "\n".join(lines) + "\n" + ",\n".join(rows) + "\n }\n}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheels", nargs="+", type=Path, help="tensorrt-cu*-bindings wheels")
    ap.add_argument("--out", type=Path, default=OUT, help=f"folder for <version>.json (default {OUT})")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pngan.io.atomic import make_dir, write_text

    try:
        snaps = [snapshot(w) for w in args.wheels]
    except (SnapshotError, OSError, zipfile.BadZipFile) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    make_dir(args.out)
    for snap in snaps:
        path = args.out / f"{snap['version']}.json"
        write_text(path, dumps(snap))
        print(f"{path}: TensorRT {snap['version']}, {len(snap['classes'])} classes, "
              f"{sum(map(len, snap['classes'].values()))} members")
    return 0


if __name__ == "__main__":
    sys.exit(main())
