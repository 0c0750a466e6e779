"""A folder on this host as a ``Source``: today's behaviour (``discover``), with content hashes as revisions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.sources.base import Snapshot, SourceDocument, combined_revision
from ingest.sources.discovery import discover
from rag.errors import SourceError

__all__ = ["FolderSource"]


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:  # unreadable now: the build reports it by name; the revision still moves
        return f"unreadable:{exc.errno}"


class FolderSource:
    """The supported files under ``root`` (hidden files and folders ignored).

    A document's revision is the SHA-256 of its bytes, so a touched but unchanged file is no change,
    and the folder's revision combines every (path, hash): renames, edits, additions and deletions
    all move it.
    """

    kind = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def label(self) -> str:
        """The folder's path."""
        return str(self.root)

    def snapshot(self) -> Snapshot:
        """Every supported file with its hash; ``SourceError`` for a missing or empty folder."""
        found, skipped = discover(self.root)
        docs = []
        for f in found:
            digest = _file_hash(f.path)
            size = f.path.stat().st_size if f.path.is_file() else None
            docs.append(SourceDocument(name=f.name, revision=digest, fingerprint=digest, size=size))
        return Snapshot(combined_revision((d.name, d.revision) for d in docs), docs, skipped)

    def revision(self) -> str:
        """The folder's current revision (reads and hashes every supported file)."""
        return self.snapshot().revision

    def changed_since(self, revision: str | None) -> bool:
        """Whether any supported file was added, removed, renamed or edited since ``revision``."""
        return revision is None or self.revision() != revision

    def read(self, doc: SourceDocument) -> bytes:
        """The file's bytes."""
        try:
            return (self.root / doc.name).read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read {doc.name} in {self.root}: {exc.strerror or exc}") from exc

    def local_path(self, doc: SourceDocument) -> Path | None:
        """The file itself: folders are read in place, never copied."""
        return self.root / doc.name
