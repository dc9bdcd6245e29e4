"""Runtimes (installed as ``pngan.runtimes``): one Runner protocol over every backend."""

from pngan.runtimes.base import BaseRunner, InputError, Runner, check_input  # noqa: F401
from pngan.runtimes.opening import open_artifact, torch_runner  # noqa: F401

__all__ = ["BaseRunner", "InputError", "Runner", "check_input", "open_artifact", "torch_runner"]
