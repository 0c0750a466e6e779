"""Releases in the registry: numbering, immutability, promote / canary / rollback by release, the migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexes.canary import CANARY_ROLLED_BACK_ACTION, canary_alias
from indexes.catalog import Catalog, CatalogAliasStore
from indexes.edge_engine import EdgeEngine
from indexes.engine import VectorEngine
from indexes.errors import AlreadyLive
from indexes.refs import IndexRef
from indexes.release_migration import MIGRATION_ACTOR
from indexes.releases import AnswerSpec, ModelSpec, ReleaseNotFound, ReleaseStore, RetrievalSpec
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from rag.errors import Conflict, VersionNotFound
from tests.indexes.test_catalog_postgres import pg_url
from tests.indexes.versioning import INDEX, ReadyVersions

__all__ = ["pg_url"]

SPEC = AnswerSpec(
    prompt="answer/v1",
    model=ModelSpec(kind="extractive"),
    settings=RetrievalSpec(mode="hybrid", fusion="rrf", top_k=4, refusal_threshold=0.25),
)


@pytest.fixture
def versions(catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]) -> ReadyVersions:
    ready = ReadyVersions(catalog, engine)
    for n in range(3):
        ready.build(corpus[: 4 * (n + 1)])
    return ready


def test_promote_makes_releases_numbered_per_index_and_reuses_identical_ones(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    assert registry.live_release(INDEX) is None
    registry.promote(INDEX, 1, actor="alice")
    first = registry.live_release(INDEX)
    assert first is not None and (first.number, first.version, first.follows_settings) == (1, 1, True)
    assert first.created_by == "alice"
    registry.promote(INDEX, 2)
    registry.promote(INDEX, 1)  # back to v1: the identical release 1 is reused, not a third one
    assert [(r.number, r.version) for r in registry.releases.list(INDEX)] == [(2, 2), (1, 1)]
    live = registry.live_release(INDEX)
    assert live is not None and live.number == 1
    assert [e.release for e in versions.catalog.alias_history(INDEX)] == [1, 2, 1]
    resolved = registry.resolve(IndexRef(INDEX))
    assert (resolved.version, resolved.release) == (1, live)
    pinned = registry.resolve(IndexRef(INDEX, 2))
    assert pinned.release is None  # policies@2 pins an index version, no release


def test_a_release_with_another_spec_goes_live_on_the_same_version(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.promote(INDEX, 1)
    pinned = registry.release_for(INDEX, spec=SPEC, actor="bob")
    assert (pinned.number, pinned.version, pinned.spec, pinned.follows_settings) == (2, 1, SPEC, False)
    switch = registry.promote_release(INDEX, pinned.number, actor="bob")
    assert (switch.previous_release, switch.previous_version, switch.release.number) == (1, 1, 2)
    assert registry.resolve(IndexRef(INDEX)).release == pinned
    with pytest.raises(AlreadyLive):
        registry.promote_release(INDEX, 2)
    # promoting a version keeps the live release's spec: release 3 is v2 with SPEC
    registry.promote(INDEX, 2)
    live = registry.live_release(INDEX)
    assert live is not None and (live.number, live.version, live.spec) == (3, 2, SPEC)
    # rollback returns to the release before, not merely the version
    back = registry.rollback_release(INDEX)
    assert back.release.number == 2 and registry.live_version(INDEX) == 1
    assert registry.rollback(INDEX) == (1, 1)  # release 2 -> release 1, both on v1
    assert registry.live_release(INDEX).number == 1  # type: ignore[union-attr]


def test_releases_are_immutable_rows(versions: ReadyVersions) -> None:
    store = ReleaseStore(versions.catalog.engine)
    made = store.create(INDEX, 1, SPEC, "carol")
    again = ReleaseStore(versions.catalog.engine).get(INDEX, made.number)
    assert again == made and again.spec == SPEC
    assert not hasattr(store, "update") and not hasattr(store, "delete")
    with pytest.raises(ReleaseNotFound) as err:
        store.get(INDEX, 99)
    assert err.value.status == 404 and err.value.code == "release_not_found"


def test_unknown_version_stores_no_release(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.promote(INDEX, 1)
    with pytest.raises(VersionNotFound):
        registry.release_for(INDEX, 9, spec=SPEC)
    with pytest.raises(VersionNotFound):
        registry.promote(INDEX, 9)
    assert [r.number for r in registry.releases.list(INDEX)] == [1]


def test_canary_is_a_release_and_promoting_it_retires_it(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=lambda: 0.0)
    registry.promote(INDEX, 1)
    with pytest.raises(Conflict):
        registry.set_canary_release(INDEX, 1, 0.5)  # the live release
    pinned = registry.release_for(INDEX, spec=SPEC)
    canary = registry.set_canary_release(INDEX, pinned.number, 0.5, actor="dana")
    assert (canary.version, canary.release) == (1, pinned.number)
    got = registry.resolve(IndexRef(INDEX))
    assert (got.alias, got.version, got.release) == (canary_alias(INDEX), 1, pinned)
    history = versions.catalog.alias_history(canary_alias(INDEX))
    assert (history[-1].release, history[-1].actor) == (pinned.number, "dana")
    registry.promote_release(INDEX, pinned.number)
    assert registry.canary(INDEX) is None
    assert versions.catalog.get_release_alias(canary_alias(INDEX)) is None


def test_canary_by_version_and_removal_through_the_registry(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.promote(INDEX, 1)
    canary = registry.set_canary(INDEX, 2, 0.2)
    release = registry.canary_release(INDEX)
    assert release is not None and (release.version, release.follows_settings, canary.release) == (2, True, 2)
    removed = registry.remove_canary(INDEX, action=CANARY_ROLLED_BACK_ACTION, actor="canary-analysis", reason="worse")
    assert removed is not None and removed.release == 2
    last = versions.catalog.alias_history(canary_alias(INDEX))[-1]
    assert (last.action, last.release, last.reason) == (CANARY_ROLLED_BACK_ACTION, 2, "worse")
    assert registry.canary(INDEX) is None and versions.catalog.get_release_alias(canary_alias(INDEX)) is None


def _old_catalog(catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    """What the code before releases left: versions, engine aliases and alias events, no release rows."""
    ready = ReadyVersions(catalog, engine)
    for n in range(3):
        ready.build(corpus[: 4 * (n + 1)])
    for version, previous, action in ((1, None, "promote"), (2, 1, "promote"), (1, 2, "rollback"), (3, 1, "promote")):
        engine.set_alias(INDEX, INDEX, version)
        catalog.record_alias_event(INDEX, INDEX, version, previous, action, "admin")
    engine.set_alias(canary_alias(INDEX), INDEX, 2)
    catalog.set_canary_share(INDEX, 0.25)
    catalog.record_alias_event(canary_alias(INDEX), INDEX, 2, None, "canary")


def _check_migration(catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    _old_catalog(catalog, engine, corpus)
    registry = VersionRegistry(catalog, engine, draw=lambda: 0.99)
    releases = registry.releases.list(INDEX)
    assert [(r.number, r.version, r.follows_settings, r.created_by) for r in releases] == [
        (3, 3, True, MIGRATION_ACTOR),
        (2, 2, True, MIGRATION_ACTOR),
        (1, 1, True, MIGRATION_ACTOR),
    ]
    assert [e.release for e in catalog.alias_history(INDEX)] == [1, 2, 1, 3]
    assert [e.release for e in catalog.alias_history(canary_alias(INDEX))] == [2]
    live = registry.resolve(IndexRef(INDEX))
    assert (live.version, live.release.number if live.release else None) == (3, 3)
    canary = registry.canary(INDEX)
    assert canary is not None and (canary.version, canary.release) == (2, 2)
    # opening it again (another process, a restart) migrates nothing twice
    VersionRegistry(catalog, engine)
    assert len(registry.releases.list(INDEX)) == 3
    # and everything keeps working: rollback walks the migrated history
    assert registry.rollback(INDEX) == (3, 1)
    assert registry.live_release(INDEX).number == 1  # type: ignore[union-attr]


def test_migration_of_a_catalog_made_before_releases_on_sqlite(
    catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    _check_migration(catalog, engine, corpus)


@pytest.fixture
def pg_edge(pg_url: str, tmp_path: Path) -> Iterator[tuple[Catalog, EdgeEngine]]:
    catalog = Catalog.from_url(pg_url)
    engine = EdgeEngine(tmp_path / "edge", CatalogAliasStore(catalog))
    yield catalog, engine
    engine.close()
    catalog.close()


def test_migration_and_releases_on_postgres(pg_edge: tuple[Catalog, EdgeEngine], corpus: list[IndexPoint]) -> None:
    catalog, engine = pg_edge
    _check_migration(catalog, engine, corpus)
    registry = VersionRegistry(catalog, engine, draw=lambda: 0.99)  # the migrated canary (share 0.25) never drawn
    made = registry.release_for(INDEX, 2, spec=SPEC, actor="erin")
    assert registry.releases.get(INDEX, made.number).spec == SPEC
    registry.promote_release(INDEX, made.number)
    assert registry.resolve(IndexRef(INDEX)).release == made
