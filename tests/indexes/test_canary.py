"""Canaries: the alias ``policies:canary`` answers a share of the unpinned requests (both engines)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest

from indexes.canary import CANARY_ACTION, CANARY_REMOVED_ACTION, CanaryStore, canary_alias, check_share
from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from indexes.refs import IndexRef
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from rag.errors import Conflict, IndexNotFound, InvalidInput, VersionNotFound
from tests.indexes.versioning import INDEX, ReadyVersions

CANARY = canary_alias(INDEX)


def scripted(values: list[float]) -> Callable[[], float]:
    """A draw that returns ``values`` in order and fails the test if asked for more."""
    it: Iterator[float] = iter(values)

    def draw() -> float:
        return next(it)

    return draw


def never() -> float:
    raise AssertionError("no draw expected")


@pytest.fixture
def versions(catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]) -> ReadyVersions:
    """Three ready versions (v1 live) of INDEX in the parametrized engine."""
    ready = ReadyVersions(catalog, engine)
    for n in range(3):
        ready.build(corpus[: 4 * (n + 1)])
    VersionRegistry(catalog, engine).promote(INDEX, 1)
    return ready


def test_canary_answers_exactly_the_draws_below_its_share(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=scripted([0.1, 0.3, 0.2999, 0.0, 0.99]))
    canary = registry.set_canary(INDEX, 2, 0.3)
    assert (canary.version, canary.share, canary.alias) == (2, 0.3, "policies:canary")
    got = [registry.resolve(IndexRef(INDEX)) for _ in range(5)]
    assert [(r.alias, r.version) for r in got] == [
        (CANARY, 2),
        (INDEX, 1),
        (CANARY, 2),
        (CANARY, 2),
        (INDEX, 1),
    ]
    assert [r.manifest.version for r in got] == [2, 1, 2, 2, 1]


def test_pinned_versions_never_draw(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=never)
    registry.set_canary(INDEX, 2, 1.0)
    pinned = registry.resolve(IndexRef(INDEX, 3))
    assert (pinned.alias, pinned.version) == (None, 3)


def test_without_a_canary_nothing_is_drawn(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=never)
    live = registry.resolve(IndexRef(INDEX))
    assert (live.alias, live.version) == (INDEX, 1)


def test_share_one_sends_everything_to_the_canary(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.set_canary(INDEX, 3, 1.0)
    assert {registry.resolve(IndexRef(INDEX)).version for _ in range(50)} == {3}


def test_default_draw_gives_the_share_statistically(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)  # the production default draw
    registry.set_canary(INDEX, 2, 0.25)
    n = 2000
    hits = sum(registry.resolve(IndexRef(INDEX)).version == 2 for _ in range(n))
    sigma = math.sqrt(n * 0.25 * 0.75)  # about 19.4
    assert abs(hits - n * 0.25) < 5 * sigma, hits  # 500 +- 97: fails by chance once in ~1.7 million runs


def test_set_canary_validates(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    failed = versions.fail()
    for share in (0.0, -0.1, 1.01, math.nan, math.inf):
        with pytest.raises(InvalidInput):
            registry.set_canary(INDEX, 2, share)
    with pytest.raises(VersionNotFound):
        registry.set_canary(INDEX, 9, 0.5)
    with pytest.raises(VersionNotFound, match="failed"):
        registry.set_canary(INDEX, failed, 0.5)
    with pytest.raises(IndexNotFound):
        registry.set_canary("other", 1, 0.5)
    with pytest.raises(Conflict, match="already live"):
        registry.set_canary(INDEX, 1, 0.5)
    assert registry.canary(INDEX) is None
    assert versions.engine.resolve_alias(CANARY) is None


def test_a_canary_needs_a_live_version(catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    ReadyVersions(catalog, engine).build(corpus)
    with pytest.raises(Conflict, match="no live version"):
        VersionRegistry(catalog, engine).set_canary(INDEX, 1, 0.5)


def test_replace_and_remove_a_canary_is_recorded(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=lambda: 0.0)
    registry.set_canary(INDEX, 2, 0.1)
    registry.set_canary(INDEX, 3, 0.2)
    current = registry.canary(INDEX)
    assert current is not None and (current.version, current.share) == (3, 0.2)
    assert versions.engine.resolve_alias(CANARY) == (INDEX, 3)

    removed = registry.remove_canary(INDEX)
    assert removed == current
    assert registry.canary(INDEX) is None
    assert versions.engine.resolve_alias(CANARY) is None
    assert versions.catalog.get_canary_share(INDEX) is None
    assert registry.resolve(IndexRef(INDEX)).version == 1  # everything goes to the live version
    assert registry.remove_canary(INDEX) is None  # removing again is a no-op
    with pytest.raises(IndexNotFound):
        registry.remove_canary("other")

    history = [(e.action, e.version, e.previous_version) for e in versions.catalog.alias_history(CANARY)]
    assert history == [(CANARY_ACTION, 2, None), (CANARY_ACTION, 3, 2), (CANARY_REMOVED_ACTION, 3, 3)]


def test_promoting_the_canary_retires_it(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=lambda: 0.0)
    registry.set_canary(INDEX, 2, 0.5)
    registry.promote(INDEX, 3)  # another version: the canary stays
    assert registry.canary(INDEX) is not None
    registry.promote(INDEX, 2)
    assert registry.canary(INDEX) is None
    assert versions.engine.resolve_alias(CANARY) is None
    resolved = registry.resolve(IndexRef(INDEX))
    assert (resolved.alias, resolved.version) == (INDEX, 2)
    assert versions.catalog.alias_history(CANARY)[-1].action == CANARY_REMOVED_ACTION


def test_rollback_ignores_canary_events_and_retires_a_canary_it_lands_on(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.promote(INDEX, 2)
    registry.set_canary(INDEX, 3, 0.5)
    registry.set_canary(INDEX, 1, 0.5)
    registry.remove_canary(INDEX)
    registry.set_canary(INDEX, 1, 0.5)
    assert registry.promoted_stack(INDEX) == [1, 2]
    assert registry.rollback(INDEX) == (2, 1)  # back to v1, which was the canary
    assert registry.canary(INDEX) is None


def test_promoted_stack_skips_canary_actions_even_under_the_live_alias(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine)
    registry.promote(INDEX, 2)
    # A stray canary event recorded under the live alias's own history must not look like a promote.
    versions.catalog.record_alias_event(INDEX, INDEX, 3, 2, CANARY_ACTION)
    versions.catalog.record_alias_event(INDEX, INDEX, 3, 3, CANARY_REMOVED_ACTION)
    assert registry.promoted_stack(INDEX) == [1, 2]
    assert registry.rollback(INDEX) == (2, 1)


def test_a_canary_whose_version_vanished_reads_as_none(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=lambda: 0.0)
    registry.set_canary(INDEX, 2, 1.0)
    versions.engine.drop_version(INDEX, 2)  # behind the registry's back
    assert registry.canary(INDEX) is None
    assert registry.resolve(IndexRef(INDEX)).version == 1


def test_a_canary_that_is_no_longer_ready_is_not_resolved(versions: ReadyVersions) -> None:
    registry = VersionRegistry(versions.catalog, versions.engine, draw=lambda: 0.0)
    registry.set_canary(INDEX, 2, 1.0)
    assert versions.catalog.mark_dropped(INDEX, 2)  # storage still there, state not ready
    resolved = registry.resolve(IndexRef(INDEX))
    assert (resolved.alias, resolved.version) == (INDEX, 1)


def test_store_rejects_bad_shares(catalog: Catalog, engine: VectorEngine) -> None:
    with pytest.raises(InvalidInput):
        CanaryStore(catalog, engine).put(INDEX, 1, 0.0)
    assert check_share(1) == 1.0
    with pytest.raises(InvalidInput):
        check_share(True)
