"""Diff: documents added, changed and removed between two versions, from their manifests."""

from __future__ import annotations

import dataclasses

import pytest

from indexes.catalog import Catalog
from indexes.diff import DocumentChange, diff_manifests, diff_versions
from indexes.types import IndexPoint
from rag.errors import IndexNotFound, VersionNotFound
from tests.indexes.versioning import INDEX, manifest_for


def test_diff_manifests(corpus: list[IndexPoint]) -> None:
    a, b, c = (corpus[i : i + 4] for i in (0, 4, 8))  # doc-a, doc-b, doc-c
    old = manifest_for(INDEX, 3, [*a, *b[:3]])  # doc-b with 3 chunks
    new_b = [dataclasses.replace(p, chunk=dataclasses.replace(p.chunk, text=p.chunk.text + "!")) for p in b[:3]]
    new = manifest_for(INDEX, 4, [*new_b, *c])  # doc-a removed, doc-b edited, doc-c added

    d = diff_manifests(old, new)

    assert (d.index, d.from_version, d.to_version, d.from_chunks, d.to_chunks) == (INDEX, 3, 4, 7, 7)
    assert d.added == [DocumentChange("doc-c", "DOC-C", None, 4, None, new.documents[1].content_hash)]
    assert d.removed == [DocumentChange("doc-a", "DOC-A", 4, None, old.documents[0].content_hash, None)]
    [changed] = d.changed
    assert (changed.doc_id, changed.from_chunks, changed.to_chunks) == ("doc-b", 3, 3)
    assert changed.from_hash != changed.to_hash
    assert d.unchanged == 0


def test_same_content_cut_differently_is_a_change_and_identical_is_not(corpus: list[IndexPoint]) -> None:
    old = manifest_for(INDEX, 1, corpus[:8])
    rechunked = manifest_for(INDEX, 2, corpus[:8]).model_copy(
        update={"documents": [old.documents[0], old.documents[1].model_copy(update={"chunk_count": 5})]}
    )
    d = diff_manifests(old, rechunked)
    assert [(c.doc_id, c.from_chunks, c.to_chunks) for c in d.changed] == [("doc-b", 4, 5)]
    assert d.changed[0].from_hash == d.changed[0].to_hash
    assert (d.added, d.removed, d.unchanged) == ([], [], 1)

    same = diff_manifests(old, old)
    assert (same.added, same.changed, same.removed, same.unchanged) == ([], [], [], 2)


def test_diff_versions_reads_the_catalog(catalog: Catalog, corpus: list[IndexPoint]) -> None:
    with pytest.raises(IndexNotFound):
        diff_versions(catalog, INDEX, 1, 2)
    assert [catalog.allocate_version(INDEX) for _ in range(2)] == [1, 2]
    catalog.mark_ready(manifest_for(INDEX, 1, corpus[:4]))
    catalog.mark_ready(manifest_for(INDEX, 2, corpus[:8]))
    building = catalog.allocate_version(INDEX)

    d = diff_versions(catalog, INDEX, 1, 2)
    assert [c.doc_id for c in d.added] == ["doc-b"]
    assert (d.unchanged, d.removed) == (1, [])
    assert [c.doc_id for c in diff_versions(catalog, INDEX, 2, 1).removed] == ["doc-b"]

    assert catalog.mark_dropped(INDEX, 1)  # a dropped version keeps its manifest and can be diffed
    assert [c.doc_id for c in diff_versions(catalog, INDEX, 1, 2).added] == ["doc-b"]

    with pytest.raises(VersionNotFound, match="no version 9"):
        diff_versions(catalog, INDEX, 1, 9)
    with pytest.raises(VersionNotFound, match="building"):
        diff_versions(catalog, INDEX, building, 2)
