"""The errors of loading one file: ``LoadError`` names the file and the reason (the build goes on)."""

from __future__ import annotations

__all__ = ["LoadError", "UnsupportedFormat"]


class LoadError(Exception):
    """A file could not be read or holds no text; the message names the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedFormat(LoadError):
    """The file's type is not one the loaders read."""
