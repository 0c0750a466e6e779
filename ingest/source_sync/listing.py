"""The documents a Git, S3 or Confluence source lists now, as the document listing shows them, staging nothing.

A document's doc_id and front matter come from its staged copy when a build made one (the copy of
exactly this fingerprint), else from its bytes read from the source (Markdown only: no other format
carries front matter); other documents are named by their name in the source.
"""

from __future__ import annotations

from pathlib import Path

from ingest.document_store import carries_front_matter, doc_id_of, front_matter
from ingest.source_sync.staging import copy_path
from ingest.sources.base import Snapshot, Source, SourceDocument
from ingest.sources.discovery import SourceFile
from rag.errors import SourceError

__all__ = ["listed_files"]


def _front_matter(source: Source, doc: SourceDocument, cache: Path, max_bytes: int) -> dict[str, object]:
    if not carries_front_matter(doc.name) or (doc.size is not None and doc.size > max_bytes):
        return {}
    staged = source.local_path(doc) or copy_path(cache, doc)
    try:
        data = staged.read_bytes() if staged.is_file() else source.read(doc)
    except (OSError, SourceError):
        return {}  # the build reports an unreadable document; the listing names it by its name
    return front_matter(data)


def listed_files(source: Source, snapshot: Snapshot, cache: Path, max_bytes: int) -> list[SourceFile]:
    """The snapshot's documents in listing order, each with ``doc_id`` and the metadata the next build
    gives it (its front matter under the source's own metadata, which holds ``revision``).

    Writes nothing: ``path`` is where a staged copy is or would be, and may not exist.
    """
    files: list[SourceFile] = []
    for doc in snapshot.documents:
        meta = _front_matter(source, doc, cache, max_bytes)
        path = source.local_path(doc) or copy_path(cache, doc)
        files.append(
            SourceFile(path=path, name=doc.name, doc_id=doc_id_of(meta, doc.name), metadata={**meta, **doc.metadata})
        )
    return files
