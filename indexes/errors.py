"""The errors the vector engines raise, placed in the service's hierarchy (:mod:`rag.errors`).

    RagError
    ├── InvalidInput           bad index name, version number, alias, chunk id or query
    ├── NotFound
    │   └── VersionNotFound    the version does not exist (never created, or dropped)
    ├── Conflict
    │   ├── VersionExists      create_version on a version that already holds data
    │   └── PurgedDocumentPresent  promoting a version that holds a document purged after its build began
    └── EngineError            the engine returned data it cannot read, or timed out
        └── ShardBusy          an Edge shard is held open by another process

``InvalidInput`` and ``VersionNotFound`` are the service's own classes, re-exported here so the
engines and their callers share one class per failure.
"""

from __future__ import annotations

from rag.errors import Conflict, InvalidInput, RagError, VersionNotFound

__all__ = [
    "EngineError",
    "InvalidInput",
    "PurgedDocumentPresent",
    "ShardBusy",
    "VersionExists",
    "VersionNotFound",
    "version_not_found",
]


class PurgedDocumentPresent(Conflict):
    """The version holds a document purged after its files were collected: it must never go live."""

    code = "purged_document_present"


class VersionExists(Conflict):
    """The version already holds data; versions are immutable once created."""

    code = "version_exists"

    def __init__(self, index: str, version: int) -> None:
        super().__init__(f"index {index!r} version {version} already exists")
        self.index = index
        self.version = version


class EngineError(RagError):
    """The vector engine failed in a way the caller cannot fix (unreadable data, timeout)."""

    code = "engine_error"


class ShardBusy(EngineError):
    """The version's Edge shard is open in another process; Edge shards have a single owner."""

    code = "shard_busy"
    status = 503


def version_not_found(index: str, version: int) -> VersionNotFound:
    """The VersionNotFound error for ``index`` version ``version``, with the standard message."""
    return VersionNotFound(f"index {index!r} version {version} does not exist")
