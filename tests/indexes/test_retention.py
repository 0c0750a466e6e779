"""Retention: the newest K ready versions and every aliased one survive; the rest are dropped."""

from __future__ import annotations

import pytest

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine
from indexes.refs import IndexRef
from indexes.retention import apply_retention, retained_versions
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from rag.errors import Conflict, IndexNotFound, InvalidInput, VersionNotFound
from tests.indexes.versioning import INDEX, ReadyVersions


def states(catalog: Catalog) -> dict[int, str]:
    return {v.version: v.state for v in catalog.list_versions(INDEX)}


@pytest.fixture
def ready(catalog: Catalog, engine: VectorEngine) -> ReadyVersions:
    return ReadyVersions(catalog, engine)


def test_keeps_the_newest_the_live_and_the_canary(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    registry = VersionRegistry(catalog, engine)
    for _ in range(3):
        ready.build(corpus[:4])  # v1-v3
    failed = ready.fail()  # v4
    for _ in range(3):
        ready.build(corpus[:4])  # v5-v7
    registry.promote(INDEX, 2)
    registry.set_canary(INDEX, 3, 0.1)
    building = catalog.allocate_version(INDEX)  # v8, a build in progress
    engine.create_version(INDEX, building, 8)

    assert retained_versions(catalog, registry, INDEX, 2) == {2, 3, 6, 7}
    assert apply_retention(catalog, engine, registry, INDEX, 2) == [1, 5]

    assert states(catalog) == {
        1: VersionState.DROPPED,
        2: VersionState.READY,
        3: VersionState.READY,
        failed: VersionState.FAILED,
        5: VersionState.DROPPED,
        6: VersionState.READY,
        7: VersionState.READY,
        building: VersionState.BUILDING,
    }
    for version in (1, 5):
        assert not engine.has_version(INDEX, version)
        info = catalog.get_version(INDEX, version)
        assert info is not None and info.manifest is not None  # the manifest stays for audit
    for version in (2, 3, 6, 7, building):
        assert engine.has_version(INDEX, version)
    assert engine.resolve_alias(INDEX) == (INDEX, 2)
    assert engine.resolve_alias(f"{INDEX}:canary") == (INDEX, 3)

    # Running it again drops nothing new.
    assert apply_retention(catalog, engine, registry, INDEX, 2) == []


def test_dropped_versions_are_never_resolved_promoted_or_canaried(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    registry = VersionRegistry(catalog, engine)
    for _ in range(3):
        ready.build(corpus)
    registry.promote(INDEX, 3)
    assert apply_retention(catalog, engine, registry, INDEX, 1) == [1, 2]
    with pytest.raises(VersionNotFound, match="dropped"):
        registry.resolve(IndexRef(INDEX, 1))
    with pytest.raises(VersionNotFound, match="dropped"):
        registry.promote(INDEX, 2)
    with pytest.raises(VersionNotFound, match="dropped"):
        registry.set_canary(INDEX, 2, 0.5)
    assert registry.resolve(IndexRef(INDEX)).version == 3


def test_rollback_skips_dropped_versions(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    registry = VersionRegistry(catalog, engine)
    for _ in range(4):
        registry.promote(INDEX, ready.build(corpus[:4]))
    # Keep 1: v4 (newest and live) stays; v1-v3 go.
    assert apply_retention(catalog, engine, registry, INDEX, 1) == [1, 2, 3]
    with pytest.raises(Conflict, match="no earlier promoted version"):
        registry.rollback(INDEX)
    assert registry.live_version(INDEX) == 4


def test_a_half_finished_drop_is_completed(
    ready: ReadyVersions, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    registry = VersionRegistry(catalog, engine)
    ready.build(corpus[:4])
    registry.promote(INDEX, ready.build(corpus[:4]))
    assert catalog.mark_dropped(INDEX, 1)  # as if the process died before deleting the storage
    assert engine.has_version(INDEX, 1)
    assert apply_retention(catalog, engine, registry, INDEX, 5) == []  # nothing newly dropped ...
    assert not engine.has_version(INDEX, 1)  # ... but the leftover storage is gone


def test_bad_keep_and_unknown_index(catalog: Catalog, engine: VectorEngine, ready: ReadyVersions) -> None:
    registry = VersionRegistry(catalog, engine)
    with pytest.raises(IndexNotFound):
        apply_retention(catalog, engine, registry, INDEX, 1)
    ready.build([])
    for keep in (0, -1):
        with pytest.raises(InvalidInput):
            apply_retention(catalog, engine, registry, INDEX, keep)
    assert states(catalog) == {1: VersionState.READY}
