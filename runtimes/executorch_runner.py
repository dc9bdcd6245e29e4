"""ExecuTorch runner: a ``.pte`` program through ``executorch.runtime`` (XNNPACK and portable kernels).

The same program and kernels an Android or iOS app loads with ExecuTorch's ``Module`` API.
H x W must be multiples of the program's ``size_multiple``; other sizes are edge-padded to
the next multiple and cropped back, which is what the network does itself (exact). Batches
run image by image (the program has batch 1).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from pngan.errors import ArtifactError, BackendMissingError
from pngan.runtimes.base import BaseRunner
from pngan.runtimes.quiet import quiet

METADATA_METHOD = "pngan_metadata"


def runtime_format() -> str:
    """The program identifier (``ET12``) the installed ExecuTorch runtime reads."""
    try:
        import executorch

        schema = Path(executorch.__file__).parent / "exir" / "_serialize" / "program.fbs"
        m = re.search(r'file_identifier\s+"(\w{4})"', schema.read_text("utf-8"))
        return m.group(1) if m else "ET12"
    except (ImportError, OSError, TypeError):
        return "ET12"


def _installed() -> str:
    from importlib import metadata

    try:
        return metadata.version("executorch")
    except metadata.PackageNotFoundError:
        return "?"


def diagnose(path: Path, data: bytes, captured: str) -> str:
    """Why ExecuTorch refused ``path``: another format version, a truncated file or not a program."""
    ident = data[4:8].decode("ascii", "replace") if len(data) >= 8 else ""
    want = runtime_format()
    if not re.fullmatch(r"ET\d\d", ident):
        return f"{path}: not an ExecuTorch program (no ET.. identifier; a corrupted or foreign file)"
    if ident != want:
        return (f"{path}: written by another ExecuTorch version (program format {ident}; the installed executorch "
                f"{_installed()} reads {want}): re-export it with this version, or install the version its "
                f"manifest names")
    for line in captured.splitlines():
        if "too small" in line or "truncated" in line.lower():
            return f"{path}: truncated ExecuTorch program ({line.split('] ', 1)[-1].strip()[:120]})"
    detail = next((ln.split("] ", 1)[-1].strip() for ln in captured.splitlines() if "] " in ln), "")
    return f"{path}: ExecuTorch cannot load the program" + (f" ({detail[:160]})" if detail else " (corrupted file)")


def load_program(path: str | Path) -> Any:
    """``Runtime.get().load_program(path)`` with one-line ``ArtifactError``s for files it refuses."""
    try:
        with quiet():
            import executorch  # noqa: F401 - fails first when the extra is missing
            from executorch.runtime import Runtime
    except ImportError:
        raise BackendMissingError("executorch", "executorch") from None
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such ExecuTorch program")
    data = path.read_bytes()
    with quiet() as cap:
        try:
            return Runtime.get().load_program(data)
        except Exception:  # noqa: BLE001 - the runtime raises RuntimeError('... error: 0x:23') for all of them
            failed = True
    if failed:
        raise ArtifactError(diagnose(path, data, cap.text)) from None


def program_metadata(program: Any) -> dict[str, Any]:
    """The ``pngan_metadata`` a program was exported with (``{}`` when it has none)."""
    if METADATA_METHOD not in program.method_names:
        return {}
    with quiet():
        t = program.load_method(METADATA_METHOD).execute([])[0]
    try:
        return json.loads(bytes(np.asarray(t, dtype=np.uint8).tolist()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}


def pte_precision(path: Path) -> str | None:
    """The precision a ``.pte`` declares in its metadata (``None`` without ExecuTorch or metadata)."""
    try:
        program = load_program(path)
    except BackendMissingError:
        return None
    return program_metadata(program).get("precision")


class ExecuTorchRunner(BaseRunner):
    """Runs ``model.pte`` with ExecuTorch's Python runtime. Options: ``threads`` (process-wide pool)."""

    backend = "executorch"
    _warm = False

    def __init__(self, path: str | Path, *, threads: int | None = None, precision: str = "fp32") -> None:
        path = Path(path)
        self.program = load_program(path)
        if "forward" not in self.program.method_names:
            raise ArtifactError(f"{path}: ExecuTorch program has no 'forward' method")
        self.metadata = program_metadata(self.program)
        if threads:
            from executorch.extension.pybindings import portable_lib

            with quiet():  # it logs the reset (and the CPU probe) on stderr
                portable_lib._unsafe_reset_threadpool(int(threads))
        with quiet() as cap:
            try:
                self.method = self.program.load_method("forward")
            except Exception:  # noqa: BLE001 - an op without a kernel in this runtime, memory
                failed = True
            else:
                failed = False
        if failed:
            detail = next((ln.split("] ", 1)[-1] for ln in cap.text.splitlines() if "] " in ln), "unknown reason")
            raise ArtifactError(f"{path}: ExecuTorch cannot prepare 'forward' ({detail.strip()[:160]})")
        self.step = int(self.metadata.get("size_multiple") or 1)
        self.precision = precision
        self.device = "cpu (XNNPACK)"
        self.options = {"threads": threads}

    def _run(self, x: np.ndarray) -> np.ndarray:
        import torch

        n, _, h, w = x.shape
        ph, pw = -h % self.step, -w % self.step
        if ph or pw:  # the network's own bottom/right replicate padding, done before the program
            x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
        outs = []
        for i in range(n):
            xi = [torch.from_numpy(np.ascontiguousarray(x[i:i + 1]))]
            if not self._warm:  # the first run logs CPU probing on stderr
                with quiet():
                    y = self.method.execute(xi)[0]
                self._warm = True
            else:
                y = self.method.execute(xi)[0]
            outs.append(y.numpy()[:, :, :h, :w])
        return np.ascontiguousarray(np.concatenate(outs), dtype=np.float32)

    def close(self) -> None:
        self.method = self.program = None
        super().close()
