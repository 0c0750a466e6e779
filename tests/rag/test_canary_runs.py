"""Canary runs are keyed by the canary release: adoption, replacement, and the migration of runs begun
before (their release read from the alias history), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from indexes.canary import CANARY_ACTION, CANARY_REMOVED_ACTION, canary_alias
from indexes.catalog import Catalog
from rag.canary.policy import CanaryPolicy
from rag.canary.run_releases import migrate_run_releases
from rag.canary.runs import CanaryRuns
from tests.indexes.test_catalog_postgres import pg_url

__all__ = ["pg_url"]

POLICY = CanaryPolicy(min_questions=5, min_duration_s=0, max_worsening={}, confidence=0.95, auto_promote=False)
CANARY = canary_alias("policies")


def _old_runs_table(engine: sa.Engine) -> sa.Table:
    """``canary_runs`` as the previous release made it (no release anywhere)."""
    old = sa.MetaData()
    table = sa.Table(
        "canary_runs",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("index_name", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
        sa.Column("deciding_answer_at", sa.DateTime(timezone=True)),
    )
    old.create_all(engine)
    return table


def _set_canary(catalog: Catalog, version: int, release: int | None) -> datetime:
    """Record a ``canary`` event of ``version`` (as ``release``) and return its time."""
    catalog.record_alias_event(CANARY, "policies", version, None, CANARY_ACTION, "admin", release=release)
    return catalog.alias_history(CANARY)[-1].at


def _check_migration(url: str) -> None:
    catalog = Catalog.from_url(url)
    try:
        old = _old_runs_table(catalog.engine)
        first = _set_canary(catalog, 2, 3)  # v2 as release 3
        second = _set_canary(catalog, 2, 5)  # then v2 as release 5: another canary release of one version
        catalog.record_alias_event(CANARY, "policies", 2, 2, CANARY_REMOVED_ACTION, release=5, point="clear")
        before_releases = _set_canary(catalog, 4, None)  # an event the history names no release for
        rows = [
            (2, first, "replaced"),  # adopted at its event's time
            (2, second + timedelta(milliseconds=5), "removed"),  # begun by the route just after the event
            (4, before_releases, "rolled_back"),
            (7, second, "ended"),  # no event of v7 at all
        ]
        with catalog.engine.begin() as conn:
            for version, started, state in rows:
                conn.execute(
                    old.insert().values(
                        index_name="policies",
                        version=version,
                        started_at=started,
                        policy=POLICY.model_dump_json(),
                        state=state,
                    )
                )

        runs = CanaryRuns(catalog.engine)  # gains its release table
        assert [runs.get(i).release for i in (1, 2, 3, 4)] == [None] * 4  # type: ignore[union-attr]
        assert migrate_run_releases(catalog) == 4
        migrated = [runs.get(i) for i in (1, 2, 3, 4)]
        assert [(r.version, r.release, r.state) for r in migrated if r is not None] == [
            (2, 3, "replaced"),
            (2, 5, "removed"),
            (4, None, "rolled_back"),
            (7, None, "ended"),
        ]
        assert migrate_run_releases(catalog) == 0  # once: the second start finds nothing to do
        # a run without a release is judged by its version, one with a release by its release only
        no_release, with_release = migrated[2], migrated[1]
        assert no_release is not None and no_release.judges(9, 4) and not no_release.judges(None, 5)
        assert with_release is not None and with_release.judges(5, 2) and not with_release.judges(3, 2)
        assert not with_release.judges(None, 2)

        new = runs.start("policies", 2, POLICY, release=6)
        assert (new.release, new.version) == (6, 2)
        assert migrate_run_releases(catalog) == 0  # new runs are written with their release
    finally:
        catalog.close()


def test_old_runs_get_the_release_of_their_alias_history_on_sqlite(tmp_path: Path) -> None:
    _check_migration(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")


def test_old_runs_get_the_release_of_their_alias_history_on_postgres(pg_url: str) -> None:
    _check_migration(pg_url)


def test_a_run_is_adopted_by_release_not_by_version(tmp_path: Path) -> None:
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    try:
        runs = CanaryRuns(catalog.engine)
        first = runs.start("policies", 1, POLICY, release=2)
        assert runs.start("policies", 1, POLICY, release=2, adopt=True).id == first.id  # the same canary release
        second = runs.start("policies", 1, POLICY, release=3, adopt=True)  # the same version, another release
        assert second.id != first.id and (second.release, second.version, second.state) == (3, 1, "running")
        assert runs.get(first.id).state == "replaced"  # type: ignore[union-attr]
        assert runs.active("policies") == second
        assert [r.id for r in runs.active_runs()] == [second.id]
    finally:
        catalog.close()
