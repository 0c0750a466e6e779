"""The errors the vector engines raise, placed in the service's hierarchy (:mod:`rag.errors`).

    RagError
    ├── InvalidInput           bad index name, version number, alias, chunk id or query
    ├── NotFound
    │   └── VersionNotFound    the version does not exist (never created, or dropped)
    ├── Conflict
    │   ├── VersionExists      create_version on a version that already holds data
    │   ├── PurgedDocumentPresent  promoting a version that holds a document purged after its build began
    │   ├── AlreadyLive        promoting the version the alias already names (nothing changes)
    │   └── GateFailed         promoting a release whose gate failed, without force
    ├── InsufficientStorage    (507) the data folder has less free space than the threshold
    └── EngineError            the engine returned data it cannot read, or timed out
        ├── ShardBusy          an Edge shard is held open by another process
        └── StorageDamaged     (503; 409 when refusing a promotion) a version's storage fails to open or search
            └── StorageMissing the version is ready in the catalog but its storage is gone

``InvalidInput`` and ``VersionNotFound`` are the service's own classes, re-exported here so the
engines and their callers share one class per failure.
"""

from __future__ import annotations

from rag.errors import Conflict, InvalidInput, RagError, VersionNotFound

__all__ = [
    "AlreadyLive",
    "EngineError",
    "GateFailed",
    "InsufficientStorage",
    "InvalidInput",
    "PurgedDocumentPresent",
    "ShardBusy",
    "StorageDamaged",
    "StorageMissing",
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


class AlreadyLive(Conflict):
    """The alias already names this version: promoting it again would change nothing."""

    code = "already_live"


class GateFailed(Conflict):
    """The release's stored gate result failed; it is promoted only when the promotion is forced."""

    code = "gate_failed"


class InsufficientStorage(RagError):
    """The volume holding the data folder has less free space than the configured threshold.

    Raised before a shard is opened or written, so that a nearly full volume gives this error
    instead of a crash (Qdrant Edge maps its files into memory; a write to a mapping the volume
    cannot back kills the process with SIGBUS).
    """

    code = "insufficient_storage"
    status = 507


class StorageDamaged(EngineError):
    """A version's storage cannot be opened or searched (damaged files); it must not be live.

    ``status`` is 503 when a question or readiness meets it, 409 when it refuses a promotion.
    """

    code = "storage_damaged"
    status = 503

    def __init__(self, message: str, *, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


class StorageMissing(StorageDamaged):
    """A version the catalog lists as ready has no storage (its shard or collection is gone)."""

    code = "storage_missing"


def version_not_found(index: str, version: int) -> VersionNotFound:
    """The VersionNotFound error for ``index`` version ``version``, with the standard message."""
    return VersionNotFound(f"index {index!r} version {version} does not exist")
