"""Typed errors. Every error the user can cause is a ``PnganError`` with a one-line message."""


class PnganError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero."""


class CheckpointError(PnganError):
    """A weights file is missing, unreadable, truncated, unsafe or for another architecture."""


class ImageError(PnganError):
    """An image cannot be read or has an unsupported layout."""


class ModelError(PnganError):
    """An unknown model name or an invalid model configuration."""


class BackendMissingError(PnganError):
    """An optional backend (extra) is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install the '{extra}' extra: "
            f"pip install -c constraints.txt -e \".[{extra}]\""
        )
        self.package = package
        self.extra = extra


class WriteError(PnganError, OSError):
    """A result cannot be written (read-only folder, full disk, a file where a folder should be).

    Also an ``OSError``, so code that handles I/O errors generically still sees it.
    """


class ArtifactError(PnganError):
    """An exported artifact folder is missing, incomplete or corrupted."""


class InputError(PnganError):
    """An array handed to a runner has the wrong dtype, layout, channels or range."""


class PlatformError(PnganError):
    """The backend is known but cannot run here (Core ML prediction off macOS, TensorRT without CUDA)."""


class PnganWarning(UserWarning):
    """A recoverable conversion the user should know about (shown as one ``warning:`` line)."""


def first_line(error: BaseException, limit: int | None = None, empty: str | None = None) -> str:
    """The first non-blank line of ``str(error)`` (cut to ``limit``), for one-line messages.

    An exception with no message gives ``empty`` or, by default, its type name.
    """
    lines = [ln for ln in str(error).splitlines() if ln.strip()]
    text = lines[0].strip() if lines else (empty if empty is not None else type(error).__name__)
    return text[:limit] if limit else text
