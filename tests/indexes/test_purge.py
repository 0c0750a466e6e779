"""Purge: one document disappears from every ready version at once, provably (searches and counts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from indexes.manifest import Manifest
from indexes.purge import purge_document
from indexes.refs import IndexRef
from indexes.retention import apply_retention
from indexes.server_engine import QdrantServerEngine
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from ingest.embedding import Embedder
from rag.errors import IndexNotFound, InvalidInput, VersionNotFound
from rag.wiring import Services, build_services
from tests.conftest import make_settings
from tests.indexes.versioning import INDEX, ReadyVersions

SECRET = "NW-SEC-999"
SECRET_QUERY = "Project Nightingale falconry stipend for the heron sanctuary"

LEAVE = """---
title: Annual Leave
doc_id: NW-PEO-001
---

# Annual Leave

Every employee receives {days} days of paid annual leave per calendar year.

## Requests

Leave requests are approved by your manager in the HR portal at least two weeks ahead.
"""

SECURITY = """---
title: Passwords
doc_id: NW-SEC-001
---

# Passwords

Passwords have at least {length} characters and multi-factor authentication is always on.
"""

SECRET_DOC = f"""---
title: Project Nightingale
doc_id: {SECRET}
---

# Project Nightingale

Project Nightingale pays a falconry stipend to volunteers of the heron sanctuary on the Elbe island.

## Falconry stipend

The falconry stipend is four hundred euros per quarter, paid with the salary of the following month,
and covers hoods, jesses and the veterinary checks of every falcon in the sanctuary.

## Heron sanctuary

The heron sanctuary keeps a logbook of nests, and volunteers count the herons each spring morning
before the ferry leaves for the mainland.
"""


def write_source(root: Path, days: int, length: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "leave.md").write_text(LEAVE.format(days=days))
    (root / "passwords.md").write_text(SECURITY.format(length=length))
    (root / "nightingale.md").write_text(SECRET_DOC)
    return root


@pytest.fixture(params=["edge", pytest.param("qdrant", marks=pytest.mark.filterwarnings("ignore:Payload indexes"))])
def services(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[Services]:
    """Services with small chunks (several per document) on Edge or on the server engine."""
    engine = QdrantServerEngine(QdrantClient(":memory:")) if request.param == "qdrant" else None
    built = build_services(make_settings(tmp_path / "data", chunk_max_tokens=40), embedder=embedder, engine=engine)
    yield built
    built.close()


def secret_hits(services: Services, version: int, mode: str) -> list[str]:
    resolved = services.registry.resolve(IndexRef(INDEX, version))
    hits = services.assistant.retriever.search(resolved, SECRET_QUERY, 50, mode=mode)
    return [h.chunk.chunk_id for h in hits if h.chunk.doc_id == SECRET]


def manifest(services: Services, version: int) -> Manifest:
    info = services.catalog.get_version(INDEX, version)
    assert info is not None and info.manifest is not None
    return info.manifest


def test_purge_removes_a_document_from_every_version(services: Services, tmp_path: Path) -> None:
    source = tmp_path / "source"
    for days, length in [(28, 12), (30, 12), (30, 14)]:  # three versions, each a little different
        services.builder.build(INDEX, write_source(source, days, length), promote=days == 28)
    versions = [1, 2, 3]
    before = {v: manifest(services, v) for v in versions}
    chunks = {v: next(d.chunk_count for d in before[v].documents if d.doc_id == SECRET) for v in versions}
    assert all(n >= 3 for n in chunks.values())  # several chunks, so "all of them" means something
    counts = {v: services.engine.count(INDEX, v) for v in versions}
    for v in versions:
        for mode in ("hybrid", "dense", "sparse"):
            assert secret_hits(services, v, mode), (v, mode)  # found before the purge

    removed = purge_document(services.catalog, services.engine, INDEX, SECRET)

    assert removed == chunks
    for v in versions:
        assert services.engine.count(INDEX, v) == counts[v] - chunks[v]
        for mode in ("hybrid", "dense", "sparse"):
            assert secret_hits(services, v, mode) == [], (v, mode)
        resolved = services.registry.resolve(IndexRef(INDEX, v))
        only = services.assistant.retriever.search(resolved, SECRET_QUERY, 50, doc_ids=[SECRET])
        assert only == []
        others = services.assistant.retriever.search(resolved, "paid annual leave days per year", 3)
        assert others and others[0].chunk.doc_id == "NW-PEO-001"  # the rest is still there

        after = manifest(services, v)
        assert SECRET not in {d.doc_id for d in after.documents}
        assert after.chunk_count == before[v].chunk_count - chunks[v]
        assert [(p.doc_id, p.chunks_removed) for p in after.purged] == [(SECRET, chunks[v])]
        assert after.documents == [d for d in before[v].documents if d.doc_id != SECRET]

    # A second purge finds nothing and changes no manifest.
    assert purge_document(services.catalog, services.engine, INDEX, SECRET) == {1: 0, 2: 0, 3: 0}
    assert all(len(manifest(services, v).purged) == 1 for v in versions)


# --- without the embedder: which versions a purge touches ------------------------------------


@pytest.fixture
def ready(catalog: Catalog, engine: VectorEngine) -> ReadyVersions:
    return ReadyVersions(catalog, engine)


def test_purge_skips_failed_dropped_and_building_versions(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    registry = VersionRegistry(catalog, engine)
    ready.build(corpus)  # v1, dropped below
    ready.fail()  # v2
    registry.promote(INDEX, ready.build(corpus))  # v3
    building = catalog.allocate_version(INDEX)  # v4
    engine.create_version(INDEX, building, 8)
    engine.upsert(INDEX, building, corpus)
    assert apply_retention(catalog, engine, registry, INDEX, 1) == [1]

    assert purge_document(catalog, engine, INDEX, "doc-b") == {3: 4}
    assert engine.count(INDEX, 3) == len(corpus) - 4
    assert engine.count(INDEX, building) == len(corpus)


def test_purge_of_a_document_no_manifest_lists_still_deletes_its_points(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    version = ready.build(corpus)
    catalog.amend_manifest(
        INDEX, version, lambda m: m.model_copy(update={"documents": [d for d in m.documents if d.doc_id != "doc-c"]})
    )
    assert purge_document(catalog, engine, INDEX, "doc-c") == {version: 4}
    after = catalog.get_version(INDEX, version)
    assert after is not None and after.manifest is not None
    assert after.manifest.chunk_count == len(corpus) - 4
    assert after.manifest.purged[0].chunks_removed == 4


def test_purge_rejects_bad_input(ready: ReadyVersions, catalog: Catalog, engine: VectorEngine) -> None:
    with pytest.raises(IndexNotFound):
        purge_document(catalog, engine, INDEX, "doc-a")
    ready.build([])
    with pytest.raises(InvalidInput):
        purge_document(catalog, engine, INDEX, "")


def test_amend_manifest_never_loses_a_concurrent_change(
    ready: ReadyVersions, catalog: Catalog, corpus: list[IndexPoint]
) -> None:
    version = ready.build(corpus)
    calls: list[str] = []

    def drop(doc_id: str) -> Callable[[Manifest], Manifest]:
        def change(m: Manifest) -> Manifest:
            calls.append(doc_id)
            if doc_id == "doc-a" and calls.count("doc-a") == 1:
                # Another writer amends the manifest between this read and this write.
                catalog.amend_manifest(INDEX, version, drop("doc-b"))
            return m.model_copy(update={"documents": [d for d in m.documents if d.doc_id != doc_id]})

        return change

    catalog.amend_manifest(INDEX, version, drop("doc-a"))
    info = catalog.get_version(INDEX, version)
    assert info is not None and info.manifest is not None
    assert [d.doc_id for d in info.manifest.documents] == ["doc-c"]  # both changes landed
    assert calls == ["doc-a", "doc-b", "doc-a"]  # the outer change ran again on the newer manifest

    with pytest.raises(VersionNotFound):
        catalog.amend_manifest(INDEX, 99, lambda m: m)
    with pytest.raises(ValueError, match="names"):
        catalog.amend_manifest(INDEX, version, lambda m: m.model_copy(update={"version": 2}))
