"""``manifest.json`` under its old name: it lives in ``pngan.runtimes.manifest`` (every runner reads it)."""

from pngan.runtimes.manifest import FORMAT_VERSION, MANIFEST, PRECISIONS, read_manifest, tool_versions, write_manifest

__all__ = ["FORMAT_VERSION", "MANIFEST", "PRECISIONS", "read_manifest", "tool_versions", "write_manifest"]
