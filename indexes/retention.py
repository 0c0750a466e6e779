"""Retention: keep the newest ready versions and every aliased one; drop the storage of the rest.

A dropped version's shard (Edge) or collection (server) is deleted and its catalog state becomes
``dropped``; its manifest stays in the catalog, so it can still be listed and diffed, but it is
never resolved, promoted or canaried again. Failed versions have no storage left and are not
touched; versions still building are never touched.
"""

from __future__ import annotations

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine
from indexes.versions import VersionRegistry
from rag.errors import IndexNotFound, InvalidInput

__all__ = ["apply_retention", "retained_versions"]


def retained_versions(catalog: Catalog, registry: VersionRegistry, index: str, keep: int) -> set[int]:
    """The ready versions retention keeps: the ``keep`` newest, the live one and the canary."""
    ready = [v.version for v in catalog.list_versions(index) if v.state == VersionState.READY]
    kept = set(sorted(ready, reverse=True)[:keep])
    # the alias's version is kept even when its storage is missing: the damage stays visible
    live = registry.live_version(index) or registry.expected_live(index)
    canary = registry.canary(index)
    aliased = {v for v in (live, canary.version if canary else None) if v is not None}
    return kept | (aliased & set(ready))


def apply_retention(
    catalog: Catalog, engine: VectorEngine, registry: VersionRegistry, index: str, keep: int
) -> list[int]:
    """Drop every ready version of ``index`` that :func:`retained_versions` does not keep.

    ``keep`` is the number of newest ready versions to keep (the setting ``RAG_RETAIN_VERSIONS``).

    Returns the versions dropped, oldest first. Each is first marked ``dropped`` in the catalog
    (from then on it cannot be promoted or canaried), then its storage is deleted. Versions marked
    dropped whose storage is still there (an earlier run failed half-way) are deleted again, so
    running retention twice is safe and the second run drops nothing new. Raises InvalidInput when
    ``keep < 1`` and IndexNotFound for an index without versions.

    Not guarded against a promote of the same old version that has already passed its readiness
    check when retention marks it dropped: run retention from the build worker, after promotes.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise InvalidInput(f"invalid retention {keep!r}: keep at least 1 version")
    versions = catalog.list_versions(index)
    if not versions:
        raise IndexNotFound(f"unknown index {index!r}")
    retained = retained_versions(catalog, registry, index, keep)
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
