"""The ``Source`` interface: what a folder, a Git repository or a bucket must answer for builds and checks.

A source lists its documents as one complete ``Snapshot`` (or raises ``SourceError``: a listing
cut short is never handed to a build), reads one document's bytes, and states its own revision
cheaply, so "has anything changed since revision R" needs no build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ingest.sources.discovery import SourceFile

__all__ = ["Collected", "Snapshot", "Source", "SourceDocument", "combined_revision"]


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One document of a source.

    ``name`` is its stable id within the source (a relative POSIX path such as ``people/leave.md``);
    ``revision`` is what the source calls its version (a Git commit, an S3 ETag, a content hash);
    ``fingerprint`` changes exactly when its bytes change (it keys the local copy); ``size`` in
    bytes when the listing knows it; ``metadata`` goes into the document's manifest entry.
    """

    name: str
    revision: str
    fingerprint: str
    size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A complete listing of a source at one revision, plus the names of files no loader reads."""

    revision: str
    documents: list[SourceDocument]
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Collected:
    """The files of one build, the names skipped, and which source at which revision they come from."""

    files: list[SourceFile]
    skipped: list[str] = field(default_factory=list)
    source: str | None = None
    revision: str | None = None


class Source(Protocol):
    """A place documents live. Implementations: ``FolderSource``, ``GitSource``, ``S3Source``."""

    kind: str

    @property
    def label(self) -> str:
        """How manifests and listings name the source; never holds a secret."""
        ...

    def revision(self) -> str:
        """The source's current revision, cheaply (a Git ref, one S3 listing, file hashes)."""
        ...

    def changed_since(self, revision: str | None) -> bool:
        """Whether the documents may differ from those at ``revision`` (None: never seen, so True)."""
        ...

    def snapshot(self) -> Snapshot:
        """Every document, complete, or ``SourceError`` (unreachable, bad credentials, listing cut short)."""
        ...

    def read(self, doc: SourceDocument) -> bytes:
        """The bytes of one document of the last snapshot; ``SourceError`` when they cannot be read."""
        ...

    def local_path(self, doc: SourceDocument) -> Path | None:
        """Where the document already is on this host (a folder's file), or None when it must be copied."""
        ...


def combined_revision(parts: Iterable[tuple[str, str]]) -> str:
    """A revision for a whole listing: SHA-256 over the sorted (name, document revision) pairs."""
    digest = hashlib.sha256()
    for name, revision in sorted(parts):
        digest.update(f"{name}\x00{revision}\x01".encode())
    return digest.hexdigest()
