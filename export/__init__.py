"""Exporters (installed as ``pngan.export``): one entry point, a table of formats, one function per format."""

from pngan.export.exporter import TARGETS, export  # noqa: F401

__all__ = ["TARGETS", "export"]
