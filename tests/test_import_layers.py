"""The layering rule, checked statically over every source file (function-level imports included):
``pngan.export`` uses ``pngan.runtimes`` (an export is validated by running it), never the other way;
``pngan.calibration`` imports neither. No import cycle between the packages is then possible."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"pngan.export": ROOT / "export", "pngan.runtimes": ROOT / "runtimes",
            "pngan.calibration": ROOT / "calibration"}
FORBIDDEN = {"pngan.runtimes": ("pngan.export",), "pngan.calibration": ("pngan.export", "pngan.runtimes")}


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports anywhere in its body (``from pngan import export`` -> ``pngan.export``)."""
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
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from pngan import export` names a module
    return out


def _violations(package: str) -> list[str]:
    bad = []
    for f in sorted(PACKAGES[package].glob("*.py")):
        for mod in sorted(imported_modules(f, package)):
            if any(mod == p or mod.startswith(p + ".") for p in FORBIDDEN[package]):
                bad.append(f"{f.relative_to(ROOT)} imports {mod}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(package):
    assert _violations(package) == []


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from pngan.export.formats import FORMATS\n    from ..export import cli\n"
                 "    from pngan import export\n")
    mods = imported_modules(f, "pngan.runtimes")
    assert {"pngan.export.formats", "pngan.export.cli", "pngan.export"} <= mods


def test_runtimes_loads_only_runtimes_code_from_the_format_table():
    """The table names code as strings; what ``pngan.runtimes`` imports through it must be its own."""
    from pngan.runtimes.formats import FORMATS

    for f in FORMATS.values():
        for ref in (f.runner, f.metadata_of, f.precision_of):
            assert ref is None or ref.startswith("pngan.runtimes."), (f.name, ref)
