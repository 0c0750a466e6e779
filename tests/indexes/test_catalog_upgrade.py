"""A catalog created by the previous release opens with this one: nothing lost, new tables added.

The previous release had no ``alias_event_actors`` and no ``version_drops`` tables; its tables are
recreated here from their old definitions, filled, and opened with today's :class:`Catalog`, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from indexes.catalog import Catalog, VersionState
from indexes.live_history import live_at
from indexes.manifest import ChunkerSpec, EmbedderSpec, Manifest, SparseSpec
from tests.indexes.test_catalog_postgres import pg_url

__all__ = ["pg_url"]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _old_schema() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    """The previous release's catalog tables (index_versions, aliases, alias_events), as they were."""
    old = sa.MetaData()
    versions = sa.Table(
        "index_versions",
        old,
        sa.Column("index_name", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("manifest", sa.Text),
        sa.Column("error", sa.Text),
    )
    aliases = sa.Table(
        "aliases",
        old,
        sa.Column("alias", sa.String(160), primary_key=True),
        sa.Column("index_name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    events = sa.Table(
        "alias_events",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alias", sa.String(160), nullable=False, index=True),
        sa.Column("index_name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("previous_version", sa.Integer),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "canaries",
        old,
        sa.Column("index_name", sa.String(128), primary_key=True),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    return old, versions, aliases, events


def _manifest(version: int) -> Manifest:
    return Manifest(
        index="policies",
        version=version,
        engine="edge",
        source="handbook",
        created_at=T0,
        embedder=EmbedderSpec(model_id="m", dimension=384, max_seq_length=256),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=100),
        chunker=ChunkerSpec(max_tokens=254, overlap_tokens=32, embed_headings=True),
        documents=[],
        chunk_count=0,
        chunks_embedded=0,
    )


def _check_upgrade(url: str) -> None:
    engine = sa.create_engine(url)
    old, versions, aliases, events = _old_schema()
    old.create_all(engine)
    with engine.begin() as conn:
        for v, state in ((1, VersionState.DROPPED), (2, VersionState.READY)):
            conn.execute(
                versions.insert().values(
                    index_name="policies",
                    version=v,
                    state=state,
                    created_at=T0,
                    finished_at=T0,
                    manifest=_manifest(v).model_dump_json(),
                )
            )
        conn.execute(aliases.insert().values(alias="policies", index_name="policies", version=2, updated_at=T0))
        for v, prev, at in ((1, None, T0), (2, 1, T0 + timedelta(days=3))):
            conn.execute(
                events.insert().values(
                    alias="policies", index_name="policies", version=v, previous_version=prev, action="promote", at=at
                )
            )
    engine.dispose()

    catalog = Catalog.from_url(url)
    try:
        assert {v.version: v.state for v in catalog.list_versions("policies")} == {1: "dropped", 2: "ready"}
        assert catalog.get_version("policies", 1).manifest == _manifest(1)  # type: ignore[union-attr]
        assert catalog.get_alias("policies") == ("policies", 2)
        history = catalog.alias_history("policies")
        assert [(e.version, e.previous_version, e.at, e.actor, e.reason) for e in history] == [
            (1, None, T0, None, None),
            (2, 1, T0 + timedelta(days=3), None, None),
        ]
        span = live_at(catalog, "policies", T0 + timedelta(days=1))
        assert (span.version, span.live_from, span.live_until) == (1, T0, T0 + timedelta(days=3))
        assert catalog.dropped_at("policies", 1) is None  # dropped by the old release: time unknown

        catalog.record_alias_event("policies", "policies", 1, 2, "rollback", "admin@example.com")
        assert catalog.alias_history("policies")[-1].actor == "admin@example.com"
        assert len(catalog.alias_history("policies")) == 3
        catalog.record_alias_event(
            "policies:canary", "policies", 1, 1, "canary_rolled_back", "canary-analysis", "worse"
        )
        assert catalog.alias_history("policies:canary")[-1].reason == "worse"  # the reasons table came with the upgrade
    finally:
        catalog.close()


def test_an_old_sqlite_catalog_opens_without_loss(tmp_path: Path) -> None:
    _check_upgrade(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")


def test_an_old_postgres_catalog_opens_without_loss(pg_url: str) -> None:
    _check_upgrade(pg_url)


def test_a_moment_with_an_offset_is_compared_in_utc_on_sqlite(tmp_path: Path) -> None:
    """SQLite stores datetimes without their zone: a moment given in another zone is converted first."""
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        catalog.record_alias_event("policies", "policies", 1, None, "promote")
        at = catalog.alias_history("policies")[0].at
        catalog.record_alias_event("policies", "policies", 2, 1, "promote")
        second = catalog.alias_history("policies")[1].at
        berlin = (at + (second - at) / 2).astimezone(ZoneInfo("Europe/Berlin"))
        found = catalog.alias_event_at("policies", berlin)
        assert found is not None and (found[0].version, found[1]) == (1, second)
        earlier = (at - timedelta(microseconds=1)).astimezone(ZoneInfo("America/New_York"))
        assert catalog.alias_event_at("policies", earlier) is None
    finally:
        catalog.close()
