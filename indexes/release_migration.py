"""The migration to releases: each version an alias ever named becomes a release that follows the settings.

Runs when a registry opens a catalog (``VersionRegistry``), once per index: in one transaction it
numbers the index's promoted versions (and canaried ones) in the order they were first aliased,
as releases with ``follows_settings`` (so answers stay exactly what today's settings make them),
links every alias event to the release of its version, and points the live and canary aliases at
their releases. A marker row per index makes the migration run once even when several processes
open the catalog at the same moment (the loser's insert of the marker fails and it does nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from indexes.canary import CANARY_ACTIONS, canary_alias
from indexes.catalog import AliasEvent, Catalog, alias_event_releases_table, release_aliases_table
from indexes.engine import VectorEngine
from indexes.releases import releases_table

__all__ = ["MIGRATION_ACTOR", "migrate_releases"]

MIGRATION_ACTOR = "migration"
"""``created_by`` of the releases the migration makes."""

_metadata = sa.MetaData()

migrations_table = sa.Table(
    "release_migrations",
    _metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("releases", sa.Integer, nullable=False),
)


def _first_aliased(events: list[AliasEvent]) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for e in events:
        first.setdefault(e.version, e.at)
    return first


def migrate_releases(catalog: Catalog, engine: VectorEngine) -> list[str]:
    """Migrate every index not migrated yet; returns the indexes migrated now."""
    _metadata.create_all(catalog.engine)
    with catalog.engine.connect() as conn:
        done = {str(r[0]) for r in conn.execute(sa.select(migrations_table.c.index_name)).all()}
    migrated = []
    for index in catalog.list_indexes():
        if index not in done and _migrate(catalog, engine, index):
            migrated.append(index)
    return migrated


def _migrate(catalog: Catalog, engine: VectorEngine, index: str) -> bool:
    live_events = [e for e in catalog.alias_history(index) if e.action not in CANARY_ACTIONS]
    canary = canary_alias(index)
    canary_events = catalog.alias_history(canary)
    first = _first_aliased(live_events)
    for version, at in _first_aliased(canary_events).items():
        first.setdefault(version, at)
    targets = {alias: engine.resolve_alias(alias) for alias in (index, canary)}
    now = datetime.now(UTC)
    for target in targets.values():
        if target is not None and target[0] == index:
            first.setdefault(target[1], now)
    numbers = {version: n for n, version in enumerate(sorted(first, key=lambda v: (first[v], v)), start=1)}
    try:
        with catalog.engine.begin() as conn:
            conn.execute(migrations_table.insert().values(index_name=index, migrated_at=now, releases=len(numbers)))
            taken = conn.execute(sa.select(sa.func.count()).where(releases_table.c.index_name == index)).scalar()
            if taken:  # releases made by a newer process before this marker: nothing to migrate
                return False
            for version, number in numbers.items():
                conn.execute(
                    releases_table.insert().values(
                        index_name=index,
                        number=number,
                        version=version,
                        follows_settings=True,
                        created_at=first[version],
                        created_by=MIGRATION_ACTOR,
                    )
                )
            for e in [*live_events, *canary_events]:
                if e.release is None and e.id is not None and e.version in numbers:
                    conn.execute(
                        alias_event_releases_table.insert().values(event_id=e.id, release_number=numbers[e.version])
                    )
            for alias, target in targets.items():
                if target is not None and target[0] == index:
                    conn.execute(release_aliases_table.delete().where(release_aliases_table.c.alias == alias))
                    conn.execute(
                        release_aliases_table.insert().values(
                            alias=alias, index_name=index, release_number=numbers[target[1]], updated_at=now
                        )
                    )
    except IntegrityError:
        return False  # another process migrated it at the same moment
    return True
