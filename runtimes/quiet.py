"""Keep backends' own chatter off the terminal: Python warnings, loggers, and C++ logs on file descriptors 1/2.

ExecuTorch and LiteRT print progress bars, ``[program.cpp:168] ...`` lines and absl/TF
logs straight to the process's stdout/stderr; the CLI promises one ``error:``/``warning:``
line per problem. ``quiet()`` sends all of it to a temporary file whose text is kept in
``Captured.text``, so an error message can quote the line that explains the failure.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Iterator

NOISY_LOGGERS = ("torchao", "torch.utils._pytree", "torch._export", "torch.export", "executorch", "litert_torch",
                 "ai_edge_litert", "ai_edge_quantizer", "absl", "jax", "coremltools")


@dataclass
class Captured:
    """What a ``quiet()`` block printed (filled in when the block ends)."""

    text: str = ""

    def lines(self, needle: str) -> list[str]:
        """The captured lines containing ``needle``."""
        return [ln.strip() for ln in self.text.splitlines() if needle in ln]


def hush_loggers() -> None:
    """Raise the noisy libraries' loggers to ERROR (idempotent; keeps a level someone set lower on purpose)."""
    for name in NOISY_LOGGERS:
        log = logging.getLogger(name)
        if log.level < logging.ERROR:
            log.setLevel(logging.ERROR)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def quiet() -> Iterator[Captured]:
    """Silence warnings, loggers, ``sys.stdout``/``sys.stderr`` and file descriptors 1 and 2 for the block."""
    hush_loggers()
    cap = Captured()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = []
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # no such descriptor (embedded interpreters): nothing to redirect
                continue
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except (OSError, ValueError, AttributeError):
                pass
        for fd, _ in saved:
            os.dup2(sink.fileno(), fd)
        buf = io.StringIO()
        was_disabled = logging.root.manager.disable
        logging.disable(logging.WARNING)  # root-logger warnings (ai_edge_quantizer) too
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                warnings.simplefilter("ignore")
                yield cap
        finally:
            logging.disable(was_disabled)
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            cap.text = sink.read().decode("utf-8", "replace") + buf.getvalue()
