"""Resource limits for loading one file, so no file (a zip bomb, a million-paragraph DOCX) can hold
a build: how large it may expand, how many blocks (paragraphs, table rows, pages) it may have, and
how long loading it may take.

A ``LoadGuard`` is made per file by ``load_document``: loaders report each block with ``tick``,
which raises ``LimitExceeded`` (a ``LoadError``: the build reports the file by name and goes on)
once a limit is passed, and ``LoadCancelled`` as soon as ``should_stop`` says so (the build was
cancelled or its worker is stopping), so cancel takes effect between blocks, not after the file.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.load_errors import LoadError

__all__ = ["LimitExceeded", "LoadCancelled", "LoadGuard", "LoadLimits", "StopFn"]

StopFn = Callable[[], bool]
"""Polled while loading; True stops the load with ``LoadCancelled``."""


class LimitExceeded(LoadError):
    """A file passed one of the load limits; the reason names the limit and its setting."""


class LoadCancelled(Exception):
    """Loading stopped because the build was cancelled (not the file's fault)."""


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Per-file limits: expanded bytes (a file's size, or a DOCX's unzipped size), blocks, seconds."""

    max_expanded_bytes: int = 32 * 1024 * 1024
    max_blocks: int = 100_000
    max_seconds: float = 60.0


class LoadGuard:
    """Enforces ``LoadLimits`` on one file and polls ``should_stop``; made when loading starts."""

    def __init__(self, source: str, limits: LoadLimits, should_stop: StopFn | None = None) -> None:
        self.source = source
        self.limits = limits
        self.should_stop = should_stop
        self.blocks = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def check(self) -> None:
        """Raise ``LoadCancelled`` when stopped, ``LimitExceeded`` when out of time."""
        if self.should_stop is not None and self.should_stop():
            raise LoadCancelled(f"loading {self.source} stopped: the build was cancelled")
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                self.source,
                f"loading took longer than {self.limits.max_seconds:g} s (setting load_max_seconds)",
            )

    def tick(self, blocks: int = 1) -> None:
        """Count ``blocks`` more paragraphs, rows or pages, then ``check``."""
        self.blocks += blocks
        if self.blocks > self.limits.max_blocks:
            raise LimitExceeded(
                self.source,
                f"more than {self.limits.max_blocks} paragraphs, rows or pages (setting load_max_blocks)",
            )
        self.check()

    def check_size(self, size: int, what: str = "is") -> None:
        """Raise ``LimitExceeded`` when ``size`` bytes are over the expanded-size limit."""
        if size > self.limits.max_expanded_bytes:
            raise LimitExceeded(
                self.source,
                f"{what} {size} bytes, over the limit of {self.limits.max_expanded_bytes} "
                "(setting load_max_expanded_bytes)",
            )

    def check_zip(self, path: Path, kind: str = "ZIP") -> None:
        """Check a ZIP container (DOCX) by its directory, before anything is decompressed.

        The sizes in the directory bound what reading can produce: a member that inflates beyond
        its declared size fails its read instead of growing.
        """
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise LoadError(self.source, f"unreadable {kind} ({exc})") from exc
        if len(members) > self.limits.max_blocks:
            raise LimitExceeded(self.source, f"{len(members)} ZIP members (setting load_max_blocks)")
        self.check_size(sum(m.file_size for m in members), "expands to")
