"""Turning a source's snapshot into the files a build loads: local copies of remote documents, kept by content.

A remote document (Git blob, S3 object) is copied once per fingerprint into the index's staging
folder, written to a temporary file and moved into place, so a copy is never half-written and an
unchanged document is never fetched again. A document over the size limit is not fetched, and one
that cannot be read carries the reason: the build reports both by name and goes on with the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from ingest.document_store import folder_doc_id
from ingest.sources.base import Snapshot, Source, SourceDocument
from ingest.sources.discovery import SourceFile
from rag.errors import SourceError

__all__ = ["copy_path", "stage"]


def copy_path(cache: Path, doc: SourceDocument) -> Path:
    """``<cache>/<digest>/<file name>``: the loaders take the format from the name's suffix."""
    key = hashlib.sha256(f"{doc.name}\x00{doc.fingerprint}".encode()).hexdigest()[:32]
    return cache / key / PurePosixPath(doc.name).name


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stage-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage(source: Source, snapshot: Snapshot, cache: Path, max_bytes: int) -> list[SourceFile]:
    """The snapshot's documents as build files, in listing order, with ``doc_id`` and source metadata set.

    Local documents are used in place; remote ones are copied into ``cache`` (only when their
    fingerprint is new), and copies of documents no longer listed are removed. A document larger
    than ``max_bytes`` or unreadable is returned with ``error`` set instead of a copy.
    """
    files: list[SourceFile] = []
    keep: set[Path] = set()
    for doc in snapshot.documents:
        local = source.local_path(doc)
        if doc.size is not None and doc.size > max_bytes:
            reason = f"is {doc.size} bytes, over the limit of {max_bytes} (setting load_max_expanded_bytes)"
            where = local or cache / "not-fetched"
            files.append(SourceFile(path=where, name=doc.name, metadata=doc.metadata, error=reason))
            continue
        path = local
        if path is None:
            path = copy_path(cache, doc)
            keep.add(path.parent)
            if not path.is_file():
                try:
                    _write(path, source.read(doc))
                except SourceError as exc:
                    files.append(SourceFile(path=path, name=doc.name, metadata=doc.metadata, error=exc.message))
                    continue
        files.append(SourceFile(path=path, name=doc.name, doc_id=folder_doc_id(path, doc.name), metadata=doc.metadata))
    if cache.is_dir():
        for entry in cache.iterdir():
            if entry.is_dir() and entry not in keep:
                shutil.rmtree(entry, ignore_errors=True)
    return files
