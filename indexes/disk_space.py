"""Free-space guard for the data folder: refuse to open or write storage on a nearly full volume.

Qdrant Edge maps its segment and WAL files into memory and fills them through the mapping; on a
volume that cannot back those pages the process dies with SIGBUS (measured: loading a small
shard touches ~34 MB on tmpfs), with no error to report. So every open and write of a shard is
preceded by :meth:`FreeSpace.require`, which raises :class:`~indexes.errors.InsufficientStorage`
(HTTP 507, naming the folder and the space needed) while less than the threshold is free.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from indexes.errors import InsufficientStorage

__all__ = ["FreeSpace", "is_disk_full", "mib"]

FreeBytes = Callable[[Path], int]
"""Free bytes of the volume holding a path (the test seam; by default ``shutil.disk_usage``)."""


def mib(n: int) -> str:
    """``n`` bytes in whole MiB, as people read it (``"12 MB"``)."""
    return f"{n // (1024 * 1024)} MB"


def _disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error says the volume is full (ENOSPC, SQLite's "database or disk is full", ...)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("no space left on device", "database or disk is full", "os error 28", "disk full"))


class FreeSpace:
    """Guards the volume holding ``folder``: at least ``min_free_bytes`` must stay free.

    Guarantees: :meth:`require` raises InsufficientStorage (and does nothing else) when less than
    the threshold is free, so callers check before they touch the disk; a threshold of 0 turns the
    check off. :meth:`problem` is the readiness probe: it also writes and removes a small file.
    """

    def __init__(self, folder: Path, min_free_bytes: int, *, free_bytes: FreeBytes | None = None) -> None:
        self.folder = Path(folder)
        self.min_free_bytes = min_free_bytes
        self._free_bytes = free_bytes or _disk_free

    def free(self) -> int:
        """Free bytes on the volume now (the nearest existing parent of ``folder`` is measured)."""
        path = self.folder
        while not path.exists() and path != path.parent:
            path = path.parent
        return self._free_bytes(path)

    def require(self, action: str) -> None:
        """Raise InsufficientStorage when less than the threshold is free; ``action`` says what was refused."""
        if self.min_free_bytes <= 0:
            return
        free = self.free()
        if free < self.min_free_bytes:
            raise InsufficientStorage(
                f"not enough free space for {action}: the data folder {self.folder} has {mib(free)} free, "
                f"at least {mib(self.min_free_bytes)} is needed (RAG_MIN_FREE_MB); free space on that volume"
            )

    def problem(self) -> str | None:
        """None when the folder can be written and has the free space needed, else what is wrong."""
        try:
            self.require("serving")
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".ready-", dir=self.folder)
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(name)
        except InsufficientStorage as exc:
            return exc.message
        except OSError as exc:
            return f"the data folder {self.folder} cannot be written: {exc.strerror or exc}"
        return None
