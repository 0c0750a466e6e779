"""The migration of canary runs to releases: each run begun before runs were keyed by release gets one.

Runs made by this release write their canary release with the run (``canary_run_releases``). A run
from before has no row there; :func:`migrate_run_releases` gives it the release the alias history
of ``<index>:canary`` names: the newest ``canary`` event of the run's index version at or before
the run began (the route sets the canary, then begins the run; the watcher adopts a canary from
its event's time). A run whose history names no release gets a NULL row, and is matched by its
version from then on (:meth:`rag.canary.runs.Run.judges`). It runs at every start and touches only
runs without a row, so the second start reads one empty result. Several processes starting at once:
the loser's insert fails on the primary key and it leaves the rows the winner wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from indexes.canary import CANARY_ACTION, canary_alias
from indexes.catalog import AliasEvent, Catalog
from rag.canary.runs import run_releases_table, runs_table

__all__ = ["migrate_run_releases"]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _release_at(events: list[AliasEvent], version: int, started_at: datetime) -> int | None:
    """The release of the newest ``canary`` event of ``version`` at or before ``started_at``, or None."""
    found = None
    for e in events:  # oldest first
        if e.action == CANARY_ACTION and e.version == version and _aware(e.at) <= started_at:
            found = e.release
    return found


def migrate_run_releases(catalog: Catalog, engine: sa.Engine | None = None) -> int:
    """Give every run without a release row the release its alias history names (or NULL); how many.

    ``engine``: the database of the runs (default: the catalog's, where the service keeps them).
    """
    db = engine if engine is not None else catalog.engine
    r, rr = runs_table, run_releases_table
    with db.connect() as conn:
        missing = conn.execute(
            sa.select(r.c.id, r.c.index_name, r.c.version, r.c.started_at)
            .outerjoin(rr, rr.c.run_id == r.c.id)
            .where(rr.c.run_id.is_(None))
            .order_by(r.c.id)
        ).all()
    if not missing:
        return 0
    histories: dict[str, list[AliasEvent]] = {}
    rows = []
    for run_id, index, version, started_at in missing:
        events = histories.setdefault(index, catalog.alias_history(canary_alias(index)))
        rows.append({"run_id": run_id, "release_number": _release_at(events, version, _aware(started_at))})
    try:
        with db.begin() as conn:
            conn.execute(rr.insert(), rows)
    except IntegrityError:
        return 0  # another process migrated them at the same moment
    return len(rows)
