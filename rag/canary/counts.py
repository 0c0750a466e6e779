"""Running counts of each arm of a canary run, kept beside its observations so a judgement reads two rows.

Judging a run used to aggregate all its observations: a cost that grew with the run (10 ms of CPU at
20,000 observations, every second). Now every write of observations adds their counts to
``canary_arm_counts`` in the same transaction (an upsert that adds, so several processes writing one
run add up), and a judgement reads the two rows. Thumbs-down ratings are not counted here (feedback
arrives later, through another route): :func:`thumbs_down` reads the down ratings given since the
run began (from the feedback's database, which may be another one: :class:`rag.canary.runs.CanaryRuns`)
and looks them up among the run's observations by answer id, both through an index, so its cost
follows the feedback, not the run.

Runs begun before this table get their counts from their observations once, at start
(:func:`backfill_counts`), like :mod:`rag.canary.run_releases`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from rag.canary.arms import Arm

__all__ = ["COUNTED", "add_counts", "backfill_counts", "count_table", "counts_of", "down_rated", "thumbs_down"]

_UPSERTS: dict[tuple[str, str], Any] = {}
_IN_LIST = 500
"""Answer ids per lookup (an answer is in one run once, so the chunks' counts add up)."""
COUNTED = ("questions", "answered", "refused", "dropped", "checked", "unsupported", "model_errors")
"""The columns every observation adds to (``answered``: no model error)."""


def count_table(metadata: sa.MetaData) -> sa.Table:
    """The ``canary_arm_counts`` table in ``metadata``: one row per run and arm."""
    return sa.Table(
        "canary_arm_counts",
        metadata,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("arm", sa.String(8), primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in COUNTED),
        sa.Column("last_at", sa.DateTime(timezone=True)),
    )


def _row(run_id: int, arm: str, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The counts that ``rows`` (observation rows of one arm) add."""
    found: dict[str, Any] = {"run_id": run_id, "arm": arm, **dict.fromkeys(COUNTED, 0), "last_at": None}
    for o in rows:
        found["questions"] += 1
        found["answered"] += not o["model_error"]
        found["model_errors"] += bool(o["model_error"])
        for name in ("refused", "dropped", "checked", "unsupported"):
            found[name] += bool(o[name])
        if found["last_at"] is None or o["at"] > found["last_at"]:
            found["last_at"] = o["at"]
    return found


def _upsert(dialect: str, table: sa.Table) -> Any:
    """The adding upsert of ``table`` for ``dialect``, built once (parameters bound at execution)."""
    key = (dialect, table.name)
    if key not in _UPSERTS:
        insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        columns = ("run_id", "arm", *COUNTED, "last_at")
        statement = insert(table).values({name: sa.bindparam(name) for name in columns})
        new = statement.excluded
        later = sa.or_(table.c.last_at.is_(None), new.last_at > table.c.last_at)
        _UPSERTS[key] = statement.on_conflict_do_update(
            index_elements=[table.c.run_id, table.c.arm],
            set_={
                **{name: table.c[name] + new[name] for name in COUNTED},
                "last_at": sa.case((later, new.last_at), else_=table.c.last_at),
            },
        )
    return _UPSERTS[key]


def add_counts(conn: sa.Connection, table: sa.Table, run_id: int, rows: list[dict[str, Any]]) -> None:
    """Add the counts of ``rows`` (observation rows of ``run_id``) to the run's arms, in ``conn``'s
    transaction: an upsert that adds, never overwrites (SQLite and PostgreSQL)."""
    arms = sorted({r["arm"] for r in rows})  # one order for every writer: no deadlock between two
    for arm in arms:
        conn.execute(_upsert(conn.dialect.name, table), _row(run_id, arm, (r for r in rows if r["arm"] == arm)))


def counts_of(conn: sa.Connection, table: sa.Table, run_id: int) -> dict[Arm, dict[str, Any]]:
    """The run's counts per arm (arms without observations are missing)."""
    rows = conn.execute(sa.select(table).where(table.c.run_id == run_id)).mappings().all()
    return {r["arm"]: dict(r) for r in rows}


def down_rated(conn: sa.Connection, feedback: sa.Table, since: datetime) -> set[str]:
    """The answers rated ``down`` since ``since`` (through the ratings' time index). Ratings are given
    after the answer, so only those since a run began can count for it."""
    query = sa.select(feedback.c.answer_id).where(feedback.c.rating == "down", feedback.c.created_at >= since)
    return set(conn.execute(query.distinct()).scalars())


def thumbs_down(conn: sa.Connection, observations: sa.Table, run_id: int, rated: set[str]) -> dict[Arm, int]:
    """Per arm, the run's answers among ``rated`` (:func:`down_rated`), looked up by answer id: the cost
    follows the ratings, not the run's length (one joined statement let the planner scan the run)."""
    found: dict[Arm, int] = {}
    ids = sorted(rated)
    for start in range(0, len(ids), _IN_LIST):
        query = (
            sa.select(observations.c.arm, sa.func.count(sa.distinct(observations.c.answer_id)))
            .where(observations.c.run_id == run_id, observations.c.answer_id.in_(ids[start : start + _IN_LIST]))
            .group_by(observations.c.arm)
        )
        for arm, n in conn.execute(query):
            found[arm] = found.get(arm, 0) + int(n)
    return found


def backfill_counts(engine: sa.Engine, runs: sa.Table, observations: sa.Table, table: sa.Table) -> int:
    """Give every run that has observations but no counts (begun before counts were kept) its counts;
    how many runs. Several processes starting at once: the loser's insert fails and it keeps the
    winner's rows."""
    with engine.connect() as conn:
        missing = conn.execute(
            sa.select(runs.c.id).where(~sa.exists().where(table.c.run_id == runs.c.id)).order_by(runs.c.id)
        ).all()
        counted = []
        for (run_id,) in missing:
            rows = conn.execute(sa.select(observations).where(observations.c.run_id == run_id)).mappings().all()
            for arm in sorted({r["arm"] for r in rows}):
                counted.append(_row(run_id, arm, (dict(r) for r in rows if r["arm"] == arm)))
    if not counted:
        return 0
    try:
        with engine.begin() as conn:
            conn.execute(table.insert(), counted)
    except IntegrityError:
        return 0
    return len({r["run_id"] for r in counted})
