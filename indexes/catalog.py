"""The metadata catalog (SQLAlchemy): index versions with their manifests, aliases, alias history, canary shares.

Tables added after the first release (who switched an alias, when a version was dropped) are new
tables, never new columns, so ``create_all`` brings a database of an older release up to date
without touching its rows.

Works on SQLite (the embedded default) and Postgres. Every state change is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from indexes.manifest import Manifest
from indexes.purge_log import PurgeLog
from indexes.sqlite_pragmas import use_wal
from rag.errors import VersionNotFound

__all__ = ["AliasEvent", "Catalog", "CatalogAliasStore", "VersionInfo", "VersionState"]

metadata = sa.MetaData()

versions_table = sa.Table(
    "index_versions",
    metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("manifest", sa.Text),
    sa.Column("error", sa.Text),
)

aliases_table = sa.Table(
    "aliases",
    metadata,
    sa.Column("alias", sa.String(160), primary_key=True),
    sa.Column("index_name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

alias_events_table = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alias", sa.String(160), nullable=False, index=True),
    sa.Column("index_name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("previous_version", sa.Integer),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

alias_actors_table = sa.Table(
    "alias_event_actors",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("actor", sa.String(256), nullable=False),
)
"""Who made each alias switch (a key's or user's name, ``cli:<user>``, ``worker:<id>``); events
recorded before this table existed, or by code that names nobody, have no row."""

alias_reasons_table = sa.Table(
    "alias_event_reasons",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
)
"""Why an alias was switched, where the switch says (the canary analysis: which metric was worse, by
how much); other events have no row."""

version_drops_table = sa.Table(
    "version_drops",
    metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=False),
)
"""When retention dropped each version (versions dropped by an older release have no row)."""

release_aliases_table = sa.Table(
    "release_aliases",
    metadata,
    sa.Column("alias", sa.String(160), primary_key=True),
    sa.Column("index_name", sa.String(128), nullable=False),
    sa.Column("release_number", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""The release each alias names (``indexes.releases``); switched in the transaction that records the
alias event, so a reader sees the old release or the new one."""

alias_event_releases_table = sa.Table(
    "alias_event_releases",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("release_number", sa.Integer, nullable=False),
)
"""The release each alias event switched to (or removed); events recorded before releases existed were
linked by the migration (``indexes.release_migration``)."""

canaries_table = sa.Table(
    "canaries",
    metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""The traffic share of each index's canary; the alias ``<index>:canary`` names its version."""


def _event_at_statement() -> sa.Select[tuple[object, ...]]:
    """The last event of ``:alias`` at or before ``:moment`` with its actor and the next event's time.

    Built once: constructing a statement costs several times what SQLite takes to run it.
    """
    events, later = alias_events_table, alias_events_table.alias("later")
    moment = sa.bindparam("moment", type_=sa.DateTime(timezone=True))
    until = (
        sa.select(sa.func.min(later.c.at))
        .where(later.c.alias == sa.bindparam("alias"), later.c.at > moment)
        .scalar_subquery()
        .label("until")
    )
    return (
        sa.select(events, alias_actors_table.c.actor, alias_event_releases_table.c.release_number, until)
        .outerjoin(alias_actors_table, alias_actors_table.c.event_id == events.c.id)
        .outerjoin(alias_event_releases_table, alias_event_releases_table.c.event_id == events.c.id)
        .where(events.c.alias == sa.bindparam("alias"), events.c.at <= moment)
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(1)
    )


_EVENT_AT = _event_at_statement()


class VersionState:
    """The states a version moves through: building -> ready | failed, and ready -> dropped.

    A dropped version's storage is gone (retention removed it); its manifest stays for audit
    and diffs, and it is never resolved or aliased again.
    """

    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version's catalog row; ``manifest`` is set once the version is ready."""

    index: str
    version: int
    state: str
    created_at: datetime
    finished_at: datetime | None
    manifest: Manifest | None
    error: str | None


@dataclass(frozen=True, slots=True)
class AliasEvent:
    """One alias switch, kept for rollback and audit."""

    alias: str
    index: str
    version: int
    previous_version: int | None
    action: str
    at: datetime
    actor: str | None = None
    reason: str | None = None
    release: int | None = None
    """The release the event switched to or removed (None: an event without one)."""
    id: int | None = None
    """The event's row id (None for an event not read from the catalog)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything stored here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Catalog:
    """Versions, manifests and aliases in one SQL database.

    Guarantees: version numbers per index are allocated once and never reused; an alias row is
    replaced in one transaction, so readers see the old target or the new one.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)
        self.purges = PurgeLog(engine)
        """When each document was last purged (``indexes.purge_log``)."""

    @classmethod
    def from_url(cls, url: str) -> Catalog:
        """Open (and create the tables of) the catalog at a SQLAlchemy URL."""
        kwargs: dict[str, object] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, **kwargs)
        use_wal(engine)
        return cls(engine)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, shared with other stores of the same database."""
        return self._db

    # versions -----------------------------------------------------------------------------------

    def allocate_version(self, index: str) -> int:
        """Reserve the next version number of ``index`` in state ``building``."""
        for _ in range(20):
            with self._db.begin() as conn:
                current = conn.execute(
                    sa.select(sa.func.max(versions_table.c.version)).where(versions_table.c.index_name == index)
                ).scalar()
                version = int(current or 0) + 1
                try:
                    conn.execute(
                        versions_table.insert().values(
                            index_name=index,
                            version=version,
                            state=VersionState.BUILDING,
                            created_at=_now(),
                        )
                    )
                except IntegrityError:
                    continue
                return version
        raise RuntimeError(f"could not allocate a version for index {index!r}")

    def mark_ready(self, manifest: Manifest) -> None:
        """Store the manifest and make the version readable."""
        with self._db.begin() as conn:
            conn.execute(
                versions_table.update()
                .where(
                    versions_table.c.index_name == manifest.index,
                    versions_table.c.version == manifest.version,
                )
                .values(
                    state=VersionState.READY,
                    finished_at=_now(),
                    manifest=manifest.model_dump_json(),
                )
            )

    def mark_failed(self, index: str, version: int, error: str) -> None:
        """Record that a build failed; a failed version is never aliased."""
        with self._db.begin() as conn:
            conn.execute(
                versions_table.update()
                .where(versions_table.c.index_name == index, versions_table.c.version == version)
                .values(state=VersionState.FAILED, finished_at=_now(), error=error[:4000])
            )

    def fail_building(self, index: str, version: int, error: str) -> bool:
        """Mark a version failed only if it is still ``building``; False (nothing changes) otherwise."""
        with self._db.begin() as conn:
            updated = conn.execute(
                versions_table.update()
                .where(
                    versions_table.c.index_name == index,
                    versions_table.c.version == version,
                    versions_table.c.state == VersionState.BUILDING,
                )
                .values(state=VersionState.FAILED, finished_at=_now(), error=error[:4000])
            ).rowcount
        return bool(updated)

    def mark_dropped(self, index: str, version: int) -> bool:
        """Move a ready version to ``dropped``; False (and nothing changes) if it was not ready."""
        with self._db.begin() as conn:
            updated = conn.execute(
                versions_table.update()
                .where(
                    versions_table.c.index_name == index,
                    versions_table.c.version == version,
                    versions_table.c.state == VersionState.READY,
                )
                .values(state=VersionState.DROPPED)
            ).rowcount
            if updated:
                conn.execute(
                    version_drops_table.delete().where(
                        version_drops_table.c.index_name == index, version_drops_table.c.version == version
                    )
                )
                conn.execute(version_drops_table.insert().values(index_name=index, version=version, dropped_at=_now()))
        return bool(updated)

    def dropped_at(self, index: str, version: int) -> datetime | None:
        """When retention dropped ``version`` (None: not dropped, or dropped before drops were timed)."""
        with self._db.connect() as conn:
            at = conn.execute(
                sa.select(version_drops_table.c.dropped_at).where(
                    version_drops_table.c.index_name == index, version_drops_table.c.version == version
                )
            ).scalar()
        return _aware(at)

    def amend_manifest(self, index: str, version: int, change: Callable[[Manifest], Manifest]) -> Manifest:
        """Replace a ready version's manifest by ``change(current)``; returns the new manifest.

        Compare-and-swap: the row is updated only if its manifest is still the one ``change``
        saw, and ``change`` runs again on the newer one otherwise, so concurrent amendments (in
        any process) are never lost. Raises VersionNotFound unless the version is ready, and
        ValueError if the new manifest names another version.
        """
        for _ in range(20):
            with self._db.connect() as conn:
                row = conn.execute(
                    sa.select(versions_table.c.state, versions_table.c.manifest).where(
                        versions_table.c.index_name == index, versions_table.c.version == version
                    )
                ).first()
            if row is None or row.state != VersionState.READY or not row.manifest:
                raise VersionNotFound(f"index {index!r} version {version} is not a ready version")
            amended = change(Manifest.model_validate(json.loads(row.manifest)))
            if (amended.index, amended.version) != (index, version):
                raise ValueError(f"the amended manifest names {amended.index} v{amended.version}")
            with self._db.begin() as conn:
                updated = conn.execute(
                    versions_table.update()
                    .where(
                        versions_table.c.index_name == index,
                        versions_table.c.version == version,
                        versions_table.c.state == VersionState.READY,
                        versions_table.c.manifest == row.manifest,
                    )
                    .values(manifest=amended.model_dump_json())
                ).rowcount
            if updated:
                return amended
        raise RuntimeError(f"could not amend the manifest of {index} v{version}: too many concurrent changes")

    def replace_manifest(self, manifest: Manifest) -> None:
        """Store ``manifest`` as the manifest of its (ready) version; VersionNotFound otherwise."""
        self.amend_manifest(manifest.index, manifest.version, lambda _: manifest)

    def get_version(self, index: str, version: int) -> VersionInfo | None:
        """The catalog row of one version, or None."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(versions_table).where(
                    versions_table.c.index_name == index, versions_table.c.version == version
                )
            ).first()
        return None if row is None else self._version(row)

    def list_versions(self, index: str) -> list[VersionInfo]:
        """Every version of ``index``, newest first."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(versions_table)
                .where(versions_table.c.index_name == index)
                .order_by(versions_table.c.version.desc())
            ).all()
        return [self._version(r) for r in rows]

    def version_state(self, index: str, version: int) -> str | None:
        """Only the state of a version (None if it does not exist): a cheap check for readers."""
        with self._db.connect() as conn:
            state = conn.execute(
                sa.select(versions_table.c.state).where(
                    versions_table.c.index_name == index, versions_table.c.version == version
                )
            ).scalar()
        return None if state is None else str(state)

    def building_versions(self) -> list[tuple[str, int]]:
        """(index, version) of every version still in state ``building``."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(versions_table.c.index_name, versions_table.c.version).where(
                    versions_table.c.state == VersionState.BUILDING
                )
            ).all()
        return [(str(r[0]), int(r[1])) for r in rows]

    def list_indexes(self) -> list[str]:
        """Names of every index that has at least one version."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(versions_table.c.index_name).distinct().order_by(versions_table.c.index_name)
            ).all()
        return [str(r[0]) for r in rows]

    @staticmethod
    def _version(row: sa.Row[tuple[object, ...]]) -> VersionInfo:
        m = row._mapping
        manifest = Manifest.model_validate(json.loads(m["manifest"])) if m["manifest"] else None
        return VersionInfo(
            index=str(m["index_name"]),
            version=int(m["version"]),
            state=str(m["state"]),
            created_at=_aware(m["created_at"]) or _now(),
            finished_at=_aware(m["finished_at"]),
            manifest=manifest,
            error=m["error"],
        )

    # aliases ------------------------------------------------------------------------------------

    def get_alias(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) an alias names in this catalog, or None."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(aliases_table.c.index_name, aliases_table.c.version).where(aliases_table.c.alias == alias)
            ).first()
        return None if row is None else (str(row[0]), int(row[1]))

    def set_alias(self, alias: str, index: str, version: int) -> None:
        """Point ``alias`` at a version: one row inserted or updated in one transaction."""
        with self._db.begin() as conn:
            updated = conn.execute(
                aliases_table.update()
                .where(aliases_table.c.alias == alias)
                .values(index_name=index, version=version, updated_at=_now())
            ).rowcount
            if not updated:
                conn.execute(
                    aliases_table.insert().values(alias=alias, index_name=index, version=version, updated_at=_now())
                )

    def delete_alias(self, alias: str) -> None:
        """Remove an alias row; a missing alias is a no-op."""
        with self._db.begin() as conn:
            conn.execute(aliases_table.delete().where(aliases_table.c.alias == alias))

    def record_alias_event(
        self,
        alias: str,
        index: str,
        version: int,
        previous: int | None,
        action: str,
        actor: str | None = None,
        reason: str | None = None,
        *,
        release: int | None = None,
        point: Literal["set", "clear"] | None = None,
    ) -> None:
        """Append an alias switch (and who made it and why, when known) to the history, in one transaction.

        ``release`` links the event to the release it concerns; ``point="set"`` makes ``alias`` name that
        release in the same transaction, ``point="clear"`` makes it name none.
        """
        with self._db.begin() as conn:
            result = conn.execute(
                alias_events_table.insert().values(
                    alias=alias,
                    index_name=index,
                    version=version,
                    previous_version=previous,
                    action=action,
                    at=_now(),
                )
            )
            event_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
            if actor:
                conn.execute(alias_actors_table.insert().values(event_id=event_id, actor=actor[:256]))
            if reason:
                conn.execute(alias_reasons_table.insert().values(event_id=event_id, reason=reason))
            if release is not None:
                conn.execute(alias_event_releases_table.insert().values(event_id=event_id, release_number=release))
            if point is not None:
                self._point(conn, alias, index, release if point == "set" else None)

    @staticmethod
    def _point(conn: sa.Connection, alias: str, index: str, release: int | None) -> None:
        t = release_aliases_table
        if release is None:
            conn.execute(t.delete().where(t.c.alias == alias))
            return
        updated = conn.execute(
            t.update().where(t.c.alias == alias).values(index_name=index, release_number=release, updated_at=_now())
        ).rowcount
        if not updated:
            conn.execute(t.insert().values(alias=alias, index_name=index, release_number=release, updated_at=_now()))

    def get_release_alias(self, alias: str) -> tuple[str, int] | None:
        """The (index, release number) an alias names, or None when it names no release."""
        t = release_aliases_table
        with self._db.connect() as conn:
            row = conn.execute(sa.select(t.c.index_name, t.c.release_number).where(t.c.alias == alias)).first()
        return None if row is None else (str(row[0]), int(row[1]))

    def set_release_alias(self, alias: str, index: str, release: int | None) -> None:
        """Make ``alias`` name ``release`` (None: no release) without recording an event (the migration)."""
        with self._db.begin() as conn:
            self._point(conn, alias, index, release)

    def link_event_release(self, event_id: int, release: int) -> None:
        """Link an alias event recorded without a release to one (the migration); an existing link stays."""
        t = alias_event_releases_table
        with self._db.begin() as conn:
            if conn.execute(sa.select(t.c.event_id).where(t.c.event_id == event_id)).first() is None:
                conn.execute(t.insert().values(event_id=event_id, release_number=release))

    def alias_history(self, alias: str) -> list[AliasEvent]:
        """Every switch of ``alias``, oldest first, with who made it where that was recorded."""
        with self._db.connect() as conn:
            rows = conn.execute(
                self._events_query().where(alias_events_table.c.alias == alias).order_by(alias_events_table.c.id)
            ).all()
        return [self._event(r) for r in rows]

    def alias_event_at(self, alias: str, moment: datetime) -> tuple[AliasEvent, datetime | None] | None:
        """The last switch of ``alias`` at or before ``moment``, and when the next switch came (None: none
        yet); None when there was no switch by then. One prepared query, whatever the length of the history."""
        with self._db.connect() as conn:
            row = conn.execute(_EVENT_AT, {"alias": alias, "moment": moment.astimezone(UTC)}).first()
        if row is None:
            return None
        return self._event(row), _aware(row._mapping["until"])

    def first_alias_event(self, alias: str) -> AliasEvent | None:
        """The first switch of ``alias``, or None when it was never switched."""
        with self._db.connect() as conn:
            row = conn.execute(
                self._events_query()
                .where(alias_events_table.c.alias == alias)
                .order_by(alias_events_table.c.id)
                .limit(1)
            ).first()
        return None if row is None else self._event(row)

    @staticmethod
    def _events_query() -> sa.Select[tuple[object, ...]]:
        return (
            sa.select(
                alias_events_table,
                alias_actors_table.c.actor,
                alias_reasons_table.c.reason,
                alias_event_releases_table.c.release_number,
            )
            .outerjoin(alias_actors_table, alias_actors_table.c.event_id == alias_events_table.c.id)
            .outerjoin(alias_reasons_table, alias_reasons_table.c.event_id == alias_events_table.c.id)
            .outerjoin(alias_event_releases_table, alias_event_releases_table.c.event_id == alias_events_table.c.id)
        )

    @staticmethod
    def _event(r: sa.Row[tuple[object, ...]]) -> AliasEvent:
        m = r._mapping
        return AliasEvent(
            alias=str(m["alias"]),
            index=str(m["index_name"]),
            version=int(m["version"]),
            previous_version=m["previous_version"],
            action=str(m["action"]),
            at=_aware(m["at"]) or _now(),
            actor=None if m["actor"] is None else str(m["actor"]),
            reason=None if m.get("reason") is None else str(m["reason"]),
            release=None if m.get("release_number") is None else int(m["release_number"]),
            id=int(m["id"]),
        )

    def list_aliases(self) -> dict[str, tuple[str, int]]:
        """Every alias kept in this catalog."""
        with self._db.connect() as conn:
            rows = conn.execute(sa.select(aliases_table)).all()
        return {str(r.alias): (str(r.index_name), int(r.version)) for r in rows}

    # canary shares ---------------------------------------------------------------------------

    def get_canary_share(self, index: str) -> float | None:
        """The share of ``index``'s unpinned traffic its canary answers, or None without a canary."""
        with self._db.connect() as conn:
            share = conn.execute(sa.select(canaries_table.c.share).where(canaries_table.c.index_name == index)).scalar()
        return None if share is None else float(share)

    def set_canary_share(self, index: str, share: float) -> None:
        """Create or replace ``index``'s canary share in one transaction."""
        with self._db.begin() as conn:
            updated = conn.execute(
                canaries_table.update()
                .where(canaries_table.c.index_name == index)
                .values(share=share, updated_at=_now())
            ).rowcount
            if not updated:
                conn.execute(canaries_table.insert().values(index_name=index, share=share, updated_at=_now()))

    def delete_canary_share(self, index: str) -> bool:
        """Remove ``index``'s canary share; returns whether there was one."""
        with self._db.begin() as conn:
            deleted = conn.execute(canaries_table.delete().where(canaries_table.c.index_name == index)).rowcount
        return bool(deleted)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self._db.dispose()


class CatalogAliasStore:
    """The catalog's alias rows as the ``AliasStore`` the embedded engine keeps its aliases in."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def get(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) ``alias`` names, or None."""
        return self._catalog.get_alias(alias)

    def set(self, alias: str, index: str, version: int) -> None:
        """Point ``alias`` at a version atomically."""
        self._catalog.set_alias(alias, index, version)

    def delete(self, alias: str) -> None:
        """Remove ``alias``; a missing alias is a no-op."""
        self._catalog.delete_alias(alias)
