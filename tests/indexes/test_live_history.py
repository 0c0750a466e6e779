"""As-of resolution over the alias history: promote, rollback, canary, retention (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine
from indexes.live_history import NoVersionLiveThen, VersionDropped, live_spans
from indexes.refs import IndexRef
from indexes.retention import apply_retention
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from rag.errors import IndexNotFound, InvalidInput
from tests.indexes.versioning import INDEX, ReadyVersions

REF = IndexRef(INDEX)


def _between(a: datetime, b: datetime) -> datetime:
    return a + (b - a) / 2


@pytest.fixture
def registry(catalog: Catalog, engine: VectorEngine) -> VersionRegistry:
    return VersionRegistry(catalog, engine, draw=lambda: 0.0)  # a canary, if any, wins every draw


def test_as_of_follows_promote_and_rollback(
    registry: VersionRegistry, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    ready = ReadyVersions(catalog, engine)
    for _ in range(3):
        ready.build(corpus[:4])
    with pytest.raises(NoVersionLiveThen, match="none was ever promoted"):
        registry.resolve_as_of(REF, datetime.now(UTC))
    registry.promote(INDEX, 1, actor="alice")
    registry.promote(INDEX, 2, actor="bob")
    registry.rollback(INDEX, actor="carol")  # back to 1
    registry.promote(INDEX, 3)
    events = catalog.alias_history(INDEX)
    assert [(e.action, e.version, e.actor) for e in events] == [
        ("promote", 1, "alice"),
        ("promote", 2, "bob"),
        ("rollback", 1, "carol"),
        ("promote", 3, None),
    ]
    at = [e.at for e in events]

    expected = {
        _between(at[0], at[1]): (1, at[0], at[1]),
        _between(at[1], at[2]): (2, at[1], at[2]),
        _between(at[2], at[3]): (1, at[2], at[3]),
        at[3] + timedelta(seconds=1): (3, at[3], None),
        at[1]: (2, at[1], at[2]),  # a switch's own moment belongs to the version it switched to
    }
    for moment, (version, live_from, live_until) in expected.items():
        resolved, span = registry.resolve_as_of(REF, moment)
        assert (resolved.version, span.live_from, span.live_until) == (version, live_from, live_until), moment
        assert resolved.alias == INDEX and resolved.manifest.version == version

    with pytest.raises(NoVersionLiveThen, match="first version went live at"):
        registry.resolve_as_of(REF, at[0] - timedelta(microseconds=1))
    with pytest.raises(IndexNotFound):
        registry.resolve_as_of(IndexRef("handbook"), at[0])
    with pytest.raises(InvalidInput, match="exclude each other"):
        registry.resolve_as_of(IndexRef(INDEX, 2), at[3])

    spans = live_spans(events)
    assert [(s.version, s.live_until) for s in spans] == [(1, at[1]), (2, at[2]), (1, at[3]), (3, None)]


def test_a_canary_never_answers_as_of(
    registry: VersionRegistry, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    ready = ReadyVersions(catalog, engine)
    ready.build(corpus[:4])
    ready.build(corpus[4:8])
    registry.promote(INDEX, 1)
    registry.set_canary(INDEX, 2, 1.0)
    assert registry.resolve(REF).version == 2  # the canary takes every unpinned question
    resolved, span = registry.resolve_as_of(REF, datetime.now(UTC))
    assert (resolved.version, resolved.alias, span.live_until) == (1, INDEX, None)
    # the canary's own alias events are not part of the live history
    assert [s.version for s in live_spans(catalog.alias_history(INDEX))] == [1]


def test_retention_keep_days_and_dropped_versions(
    registry: VersionRegistry, catalog: Catalog, engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    ready = ReadyVersions(catalog, engine)
    for _ in range(3):
        ready.build(corpus[:4])
    registry.promote(INDEX, 1)
    registry.promote(INDEX, 2)
    registry.promote(INDEX, 3)
    while_v1 = _between(*[e.at for e in catalog.alias_history(INDEX)[:2]])

    # v1 and v2 were live within the last 30 days: kept, whatever keep says
    assert apply_retention(catalog, engine, registry, INDEX, 1, keep_days=30) == []
    assert registry.resolve_as_of(REF, while_v1)[0].version == 1
    # 40 days on, v2 (live until v3's promotion) is outside a 30-day window too
    later = datetime.now(UTC) + timedelta(days=40)
    assert apply_retention(catalog, engine, registry, INDEX, 1, keep_days=30, now=later) == [1, 2]
    with pytest.raises(InvalidInput, match="keep_days"):
        apply_retention(catalog, engine, registry, INDEX, 1, keep_days=-1)

    with pytest.raises(VersionDropped) as caught:
        registry.resolve_as_of(REF, while_v1)
    dropped_at = catalog.dropped_at(INDEX, 1)
    assert dropped_at is not None and abs(dropped_at - datetime.now(UTC)) < timedelta(minutes=5)
    err = caught.value
    assert (err.status, err.code, err.version, err.dropped_at) == (410, "version_dropped", 1, dropped_at)
    assert "v1" in err.message and dropped_at.isoformat() in err.message
    info = catalog.get_version(INDEX, 1)
    assert info is not None and info.state == VersionState.DROPPED and info.manifest is not None
    assert catalog.dropped_at(INDEX, 3) is None  # never dropped
