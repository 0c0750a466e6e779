"""Retention: keep the newest ready versions, every aliased one and every one live within the last
``keep_days`` days; drop the storage of the rest.

A dropped version's shard (Edge) or collection (server) is deleted and its catalog state becomes
``dropped``; its manifest stays in the catalog, so it can still be listed and diffed, but it is
never resolved, promoted or canaried again. Failed versions have no storage left and are not
touched; versions still building are never touched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine
from indexes.live_history import live_spans
from indexes.versions import VersionRegistry
from rag.errors import IndexNotFound, InvalidInput

__all__ = ["apply_retention", "live_within", "retained_versions"]


def live_within(catalog: Catalog, index: str, days: int, now: datetime | None = None) -> set[int]:
    """Versions that were live at some moment of the last ``days`` days (none for ``days <= 0``)."""
    if days <= 0:
        return set()
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    spans = live_spans(catalog.alias_history(index))
    return {s.version for s in spans if s.live_until is None or s.live_until >= since}


def retained_versions(
    catalog: Catalog, registry: VersionRegistry, index: str, keep: int, keep_days: int = 0, now: datetime | None = None
) -> set[int]:
    """The ready versions retention keeps: the ``keep`` newest, the live one, the canary, and every one
    live within the last ``keep_days`` days (so as-of questions about that window can be answered)."""
    ready = [v.version for v in catalog.list_versions(index) if v.state == VersionState.READY]
    kept = set(sorted(ready, reverse=True)[:keep]) | (live_within(catalog, index, keep_days, now) & set(ready))
    # the alias's version is kept even when its storage is missing: the damage stays visible
    live = registry.live_version(index) or registry.expected_live(index)
    canary = registry.canary(index)
    aliased = {v for v in (live, canary.version if canary else None) if v is not None}
    return kept | (aliased & set(ready))


def apply_retention(
    catalog: Catalog,
    engine: VectorEngine,
    registry: VersionRegistry,
    index: str,
    keep: int,
    keep_days: int = 0,
    now: datetime | None = None,
) -> list[int]:
    """Drop every ready version of ``index`` that :func:`retained_versions` does not keep.

    ``keep`` is the number of newest ready versions to keep (the setting ``RAG_RETAIN_VERSIONS``);
    ``keep_days`` keeps besides every version live within that many days (``RAG_RETAIN_LIVE_DAYS``;
    0: none). The catalog records when each version was dropped (``Catalog.dropped_at``).

    Returns the versions dropped, oldest first. Each is first marked ``dropped`` in the catalog
    (from then on it cannot be promoted or canaried), then its storage is deleted. Versions marked
    dropped whose storage is still there (an earlier run failed half-way) are deleted again, so
    running retention twice is safe and the second run drops nothing new. Raises InvalidInput when
    ``keep < 1`` or ``keep_days < 0`` and IndexNotFound for an index without versions.

    Not guarded against a promote of the same old version that has already passed its readiness
    check when retention marks it dropped: run retention from the build worker, after promotes.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise InvalidInput(f"invalid retention {keep!r}: keep at least 1 version")
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 0:
        raise InvalidInput(f"invalid retention keep_days {keep_days!r}: use 0 or more days")
    versions = catalog.list_versions(index)
    if not versions:
        raise IndexNotFound(f"unknown index {index!r}")
    retained = retained_versions(catalog, registry, index, keep, keep_days, now)
    dropped: list[int] = []
    for info in sorted(versions, key=lambda v: v.version):
        if info.state == VersionState.READY and info.version not in retained:
            if not catalog.mark_dropped(index, info.version):
                continue  # no longer ready: another process got there first
            engine.drop_version(index, info.version)
            dropped.append(info.version)
        elif info.state == VersionState.DROPPED and engine.has_version(index, info.version):
            engine.drop_version(index, info.version)
    return dropped
