"""The import graph, checked statically over every source file (function-level imports included).

* No cycle between modules, and none between packages (``pngan.denoise``, ``pngan.runtimes``, ...; a root
  module such as ``pngan.errors`` counts as its own package). Importing ``a.b.c`` runs ``a/b/__init__``
  first; that parent edge is not counted, or every package that re-exports a submodule would be a loop.
* The layers: ``pngan.export`` uses ``pngan.runtimes`` (an export is validated by running it), never the other
  way; ``pngan.runtimes`` imports none of ``pngan.generate``, ``pngan.train``, ``pngan.cli``;
  ``pngan.calibration`` imports neither export nor runtimes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"pngan": ROOT / "pngan", "pngan.export": ROOT / "export", "pngan.runtimes": ROOT / "runtimes",
            "pngan.calibration": ROOT / "calibration"}
FORBIDDEN = {"pngan.runtimes": ("pngan.export", "pngan.generate", "pngan.train", "pngan.cli"),
             "pngan.calibration": ("pngan.export", "pngan.runtimes")}


def modules() -> dict[str, Path]:
    """Every module of the project by its installed name."""
    out = {}
    for package, folder in PACKAGES.items():
        for f in sorted(folder.rglob("*.py")):
            parts = list(f.relative_to(folder).with_suffix("").parts)
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            out[".".join([package, *parts])] = f
    return out


def imported_modules(path: Path, package: str, known: set[str] | None = None) -> set[str]:
    """Every module ``path`` imports anywhere in its body (``from pngan import export`` -> ``pngan.export``).

    With ``known`` (module names), ``from a import b`` counts only ``a.b`` when that is a module."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names}  # `from pngan import export` names a module
            if known is not None and subs <= known:
                out |= subs
            else:
                out |= {mod} | subs
    return out


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name resolved to the longest module it starts with)."""
    mods = modules()
    known = set(mods)
    g = {}
    for name, f in mods.items():
        package = name if f.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for m in imported_modules(f, package, known):
            while m and m not in known:
                m = m.rpartition(".")[0]
            if m and m != name:
                edges.add(m)
        g[name] = edges
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on.discard(comp[-1])
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def package_of(module: str) -> str:
    """``pngan.denoise.folder`` -> ``pngan.denoise``; ``pngan.errors`` -> itself; ``pngan`` -> itself."""
    return ".".join(module.split(".")[:2])


def package_graph(g: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, bs in g.items():
        for b in bs:
            if package_of(a) != package_of(b):
                out.setdefault(package_of(a), set()).add(package_of(b))
    return out


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_no_import_cycle_between_packages():
    assert cycles(package_graph(graph())) == []


def test_the_cycle_finder_sees_a_loop_through_a_function_level_import(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    f = tmp_path / "m.py"
    f.write_text("import numpy\n\ndef f():\n    from pngan.runtimes import tiling\n")
    assert imported_modules(f, "pngan.io", {"pngan.runtimes.tiling"}) >= {"pngan.runtimes.tiling"}
    assert "pngan.runtimes" not in imported_modules(f, "pngan.io", {"pngan.runtimes.tiling"})


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(package):
    bad = [f"{a} imports {b}" for a, bs in graph().items() if package_of(a) == package for b in sorted(bs)
           if any(b == p or b.startswith(p + ".") for p in FORBIDDEN[package])]
    assert bad == []


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from pngan.export.formats import FORMATS\n    from ..export import cli\n"
                 "    from pngan import export\n")
    mods = imported_modules(f, "pngan.runtimes")
    assert {"pngan.export.formats", "pngan.export.cli", "pngan.export"} <= mods


def test_root_of_pngan_holds_at_most_six_modules():
    assert len(sorted((ROOT / "pngan").glob("*.py"))) <= 6


def test_runtimes_loads_only_runtimes_code_from_the_format_table():
    """The table names code as strings; what ``pngan.runtimes`` imports through it must be its own."""
    from pngan.runtimes.formats import FORMATS

    for f in FORMATS.values():
        for ref in (f.runner, f.metadata_of, f.precision_of):
            assert ref is None or ref.startswith("pngan.runtimes."), (f.name, ref)
