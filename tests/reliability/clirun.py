"""Run the CLIs in-process (click's runner) or as real processes, and check how they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass
class Outcome:
    """What a command did: exit code, stdout, stderr, and an exception that escaped (a bug)."""

    code: int
    out: str
    err: str
    escaped: BaseException | None = None

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("error:")]


def pngan(*args: object) -> Outcome:
    """``pngan ARGS`` in-process."""
    from pngan.cli import main

    return _invoke(main, args)


def pngan_export(*args: object) -> Outcome:
    """``pngan-export ARGS`` in-process."""
    from pngan.cli.export_cmd import main

    return _invoke(main, args)


def _invoke(cmd, args) -> Outcome:
    r = CliRunner().invoke(cmd, [str(a) for a in args], catch_exceptions=True)
    escaped = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    return Outcome(r.exit_code, r.stdout, r.stderr, escaped)


def pngan_process(*args: object, cwd: Path | None = None, env: dict | None = None, preexec=None,
                  timeout: float = 300) -> Outcome:
    """``pngan ARGS`` as a separate Python process (for crashes, rlimits and signals)."""
    r = subprocess.run([sys.executable, "-m", "pngan.cli.__main__", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env={**os.environ, **(env or {})}, preexec_fn=preexec, timeout=timeout)
    return Outcome(r.returncode, r.stdout, r.stderr)


def assert_refused(o: Outcome, *needles: str) -> None:
    """Non-zero exit, no traceback, and one-line ``error:`` messages that mention every needle."""
    assert o.escaped is None, f"exception escaped: {o.escaped!r}"
    assert o.code not in (0, None), f"exit {o.code}; stderr: {o.err}"
    assert "Traceback" not in o.err + o.out, o.err
    assert o.errors, f"no 'error:' line in stderr: {o.err!r}"
    other = [ln for ln in o.err.splitlines() if ln.strip() and not ln.startswith(("error:", "warning:"))]
    assert not other, f"stderr lines that are neither 'error:' nor 'warning:': {other}"
    for n in needles:
        assert any(n in ln for ln in o.errors), f"{n!r} not in the error lines {o.errors}"


def assert_ok(o: Outcome) -> None:
    assert o.escaped is None, f"exception escaped: {o.escaped!r}"
    assert o.code == 0, f"exit {o.code}; stderr: {o.err}"
    assert "Traceback" not in o.err + o.out
