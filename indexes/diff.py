"""What changed between two versions of an index, read from their manifests."""

from __future__ import annotations

from dataclasses import dataclass

from indexes.catalog import Catalog
from indexes.manifest import DocumentEntry, Manifest
from rag.errors import IndexNotFound, VersionNotFound

__all__ = ["DocumentChange", "VersionDiff", "diff_manifests", "diff_versions", "version_manifests"]


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """One document that differs between the versions; ``None`` on the side where it is absent."""

    doc_id: str
    title: str
    from_chunks: int | None
    to_chunks: int | None
    from_hash: str | None
    to_hash: str | None


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Documents added, changed and removed going from ``from_version`` to ``to_version``.

    A document is *changed* when its content hash or its chunk count differs (the same text cut
    by another chunker changes the index too); lists are ordered by document id.
    """

    index: str
    from_version: int
    to_version: int
    added: list[DocumentChange]
    changed: list[DocumentChange]
    removed: list[DocumentChange]
    unchanged: int
    from_chunks: int
    to_chunks: int


def _change(doc_id: str, old: DocumentEntry | None, new: DocumentEntry | None) -> DocumentChange:
    entry = new or old
    return DocumentChange(
        doc_id=doc_id,
        title=entry.title if entry else "",
        from_chunks=old.chunk_count if old else None,
        to_chunks=new.chunk_count if new else None,
        from_hash=old.content_hash if old else None,
        to_hash=new.content_hash if new else None,
    )


def diff_manifests(old: Manifest, new: Manifest) -> VersionDiff:
    """The document-level difference between two manifests of one index."""
    before = {d.doc_id: d for d in old.documents}
    after = {d.doc_id: d for d in new.documents}
    added = [_change(i, None, after[i]) for i in sorted(after.keys() - before.keys())]
    removed = [_change(i, before[i], None) for i in sorted(before.keys() - after.keys())]
    changed: list[DocumentChange] = []
    unchanged = 0
    for doc_id in sorted(before.keys() & after.keys()):
        a, b = before[doc_id], after[doc_id]
        if (a.content_hash, a.chunk_count) != (b.content_hash, b.chunk_count):
            changed.append(_change(doc_id, a, b))
        else:
            unchanged += 1
    return VersionDiff(
        index=new.index,
        from_version=old.version,
        to_version=new.version,
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        from_chunks=old.chunk_count,
        to_chunks=new.chunk_count,
    )


def diff_versions(catalog: Catalog, index: str, from_version: int, to_version: int) -> VersionDiff:
    """Diff two versions by their manifests (dropped versions keep theirs and can be diffed).

    Every document is compared: cutting a diff to a caller's access groups is ``rag.access``'s job.
    Raises as :func:`version_manifests`.
    """
    return diff_manifests(*version_manifests(catalog, index, from_version, to_version))


def version_manifests(catalog: Catalog, index: str, from_version: int, to_version: int) -> tuple[Manifest, Manifest]:
    """The manifests of two versions of ``index``.

    Raises IndexNotFound for an index without versions and VersionNotFound for a version that does
    not exist or has no manifest (still building, or failed).
    """
    if not catalog.list_versions(index):
        raise IndexNotFound(f"unknown index {index!r}")
    return _manifest(catalog, index, from_version), _manifest(catalog, index, to_version)


def _manifest(catalog: Catalog, index: str, version: int) -> Manifest:
    info = catalog.get_version(index, version)
    if info is None:
        raise VersionNotFound(f"index {index!r} has no version {version}")
    if info.manifest is None:
        raise VersionNotFound(f"index {index!r} version {version} is {info.state} and has no manifest")
    return info.manifest
