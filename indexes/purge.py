"""Purge: remove one document's chunks from every retained version of an index at once.

For content that must disappear now, not at the next build. Versions are otherwise immutable; a
purge is the one change made to a built version, and its manifest says so (``Manifest.purged``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine, check_doc_ids
from indexes.errors import PurgedDocumentPresent
from indexes.manifest import Manifest, PurgeRecord
from rag.errors import IndexNotFound, VersionNotFound

__all__ = ["check_not_purged", "purge_document", "purge_version", "stale_documents"]


def purge_document(catalog: Catalog, engine: VectorEngine, index: str, doc_id: str) -> dict[int, int]:
    """Delete every chunk of ``doc_id`` from every ready version of ``index``.

    Returns ``{version: chunks removed}`` for every ready version (0 where the document was not
    there; all zeros means no version held it). Guarantees, for each version: when this returns,
    no search of it finds the document's chunks; its manifest no longer lists the document, its
    ``chunk_count`` is lower by the chunks removed, and ``purged`` records the purge. A version
    dropped while the purge runs is skipped. Raises IndexNotFound for an index without versions
    and InvalidInput for an empty ``doc_id``.

    The purge is recorded first (``catalog.purges``): a build still running drops the document
    before it seals, or right after it becomes ready, and promotion refuses any version that still
    holds it (``check_not_purged``). Remove the document from the source too, so that no later
    build brings it back.
    """
    [doc_id] = check_doc_ids([doc_id])
    versions = catalog.list_versions(index)
    if not versions:
        raise IndexNotFound(f"unknown index {index!r}")
    catalog.purges.record(index, doc_id)
    versions = catalog.list_versions(index)  # read again: a version that became ready meanwhile is included
    removed: dict[int, int] = {}
    for info in sorted(versions, key=lambda v: v.version):
        if info.state != VersionState.READY:
            continue
        try:
            count = engine.delete_documents(index, info.version, [doc_id])
            listed = info.manifest is not None and any(d.doc_id == doc_id for d in info.manifest.documents)
            if count or listed:
                change = partial(_without, doc_id=doc_id, chunks_removed=count, at=datetime.now(UTC))
                catalog.amend_manifest(index, info.version, change)
        except VersionNotFound:
            continue  # dropped by retention meanwhile: nothing of it is left to purge
        removed[info.version] = count
    return removed


def _without(manifest: Manifest, doc_id: str, chunks_removed: int, at: datetime) -> Manifest:
    """``manifest`` without ``doc_id``, ``chunks_removed`` fewer chunks, and a record of the purge."""
    return manifest.model_copy(
        update={
            "documents": [d for d in manifest.documents if d.doc_id != doc_id],
            "chunk_count": max(0, manifest.chunk_count - chunks_removed),
            "purged": [*manifest.purged, PurgeRecord(doc_id=doc_id, at=at, chunks_removed=chunks_removed)],
        }
    )


def stale_documents(catalog: Catalog, manifest: Manifest) -> list[str]:
    """Documents of ``manifest`` purged after the version's files were collected (sorted)."""
    since = manifest.collected_at or manifest.created_at
    held = {d.doc_id for d in manifest.documents}
    return sorted(catalog.purges.purged_after(manifest.index, since, held))


def check_not_purged(catalog: Catalog, manifest: Manifest) -> None:
    """Raise ``PurgedDocumentPresent`` (409) when the version holds a document purged since it was collected."""
    stale = stale_documents(catalog, manifest)
    if stale:
        raise PurgedDocumentPresent(
            f"{manifest.index} v{manifest.version} holds {', '.join(map(repr, stale))}, purged after its "
            "files were collected: it can never go live (build a new version)"
        )


def purge_version(catalog: Catalog, engine: VectorEngine, manifest: Manifest) -> list[str]:
    """Remove from one ready version every document purged since its files were collected; returns them."""
    stale = stale_documents(catalog, manifest)
    for doc_id in stale:
        count = engine.delete_documents(manifest.index, manifest.version, [doc_id])
        change = partial(_without, doc_id=doc_id, chunks_removed=count, at=datetime.now(UTC))
        catalog.amend_manifest(manifest.index, manifest.version, change)
    return stale
