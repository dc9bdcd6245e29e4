"""The table of export formats under its old name: it lives in ``pngan.runtimes.formats`` (the lower layer)."""

from pngan.runtimes.formats import (FORMATS, ONNX_PACKAGES, PRECISIONS, Format, bare_suffixes, by_suffix, get, load,
                                    model_files, names)

__all__ = ["FORMATS", "ONNX_PACKAGES", "PRECISIONS", "Format", "bare_suffixes", "by_suffix", "get", "load",
           "model_files", "names"]
