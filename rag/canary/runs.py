"""Canary runs and what each arm answered during them, in the metadata database.

A *run* is one canary *release* under one policy, from when it was set until a decision or its removal:
``running`` -> ``ready`` (passed, waiting for a person) -> ``promoted`` | ``rolled_back`` |
``removed`` (by a person) | ``replaced`` (another canary was set) | ``ended`` (the canary left by
other means, e.g. a person promoted it). An *observation* is one question an arm served during a
run: refused, dropped a citation, checked and unsupported, a model error, its latency. Each write of
observations also adds to the run's per-arm counts (:mod:`rag.canary.counts`), so a judgement reads
two rows whatever the run's length. Thumbs-down feedback is read from the feedback table when
tallying, so feedback given later still counts.

A run is keyed by the canary's release (``canary_run_releases``, a table of its own: tables gain
new tables, never new columns), not by its index version: a canary release may keep the live index
version and change only the prompt or model, and two canary releases of one version are two runs.
The version is kept for display. A run begun before releases has no release (NULL) and is matched
by its version, as before (:meth:`Run.judges`).

State changes are compare-and-set (``UPDATE ... WHERE state IN (...)``): when several API
processes watch one canary, exactly one of them acts on a decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rag.canary.arms import ARMS, Arm
from rag.canary.counts import add_counts, backfill_counts, count_table, counts_of, down_rated, thumbs_down
from rag.canary.latency_sample import LatencySample
from rag.canary.policy import CanaryPolicy
from rag.feedback import feedback_table

__all__ = ["ACTIVE", "LATENCY_SAMPLE", "CanaryRuns", "Observation", "Run", "Tally", "run_releases_table"]

metadata = sa.MetaData()

ACTIVE = ("running", "ready")
"""Run states in which the canary is still watched."""

LATENCY_SAMPLE = 2000
"""Latency is compared on each arm's newest answers, at most this many: the cost of a judgement stays
bounded however long a canary runs (the rates are counted over the whole run)."""

runs_table = sa.Table(
    "canary_runs",
    metadata,
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

run_releases_table = sa.Table(
    "canary_run_releases",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("release_number", sa.Integer),
)
"""The canary release each run judges, written with the run; runs begun before this table were given
the release their alias history names (:mod:`rag.canary.run_releases`), or NULL when it names none."""

observations_table = sa.Table(
    "canary_observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("arm", sa.String(8), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("answer_id", sa.String(40)),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("refused", sa.Boolean, nullable=False),
    sa.Column("dropped", sa.Boolean, nullable=False),
    sa.Column("checked", sa.Boolean, nullable=False),
    sa.Column("unsupported", sa.Boolean, nullable=False),
    sa.Column("model_error", sa.Boolean, nullable=False),
    sa.Column("latency_ms", sa.Float),
)
observation_indexes = (
    sa.Index(
        "ix_canary_observations_run_arm_id",
        observations_table.c.run_id,
        observations_table.c.arm,
        observations_table.c.id,
    ),
    sa.Index("ix_canary_observations_answer_id", observations_table.c.answer_id),
)
"""Each arm's newest latencies, and the run's answers a rating names, read without a scan of the run."""
counts_table = count_table(metadata)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class Run:
    """One canary run (see the module docstring for its states)."""

    id: int
    index: str
    version: int
    started_at: datetime
    policy: CanaryPolicy
    state: str
    decided_at: datetime | None
    reason: str | None
    deciding_answer_at: datetime | None
    release: int | None = None
    """The canary release the run judges (None: a run begun before releases, matched by its version)."""

    @property
    def active(self) -> bool:
        """Whether the canary is still watched."""
        return self.state in ACTIVE

    def judges(self, release: int | None, version: int) -> bool:
        """Whether a canary (or a canary answer) of ``release`` and ``version`` is the one this run judges:
        the same release; for a run without a release (begun before releases), the same version."""
        return release == self.release if self.release is not None else version == self.version


@dataclass(frozen=True, slots=True)
class Observation:
    """One question an arm served: what the answer record (or the model error) says about it."""

    index: str
    arm: Arm
    version: int
    answer_id: str | None
    at: datetime
    refused: bool = False
    dropped: bool = False
    checked: bool = False
    unsupported: bool = False
    model_error: bool = False
    latency_ms: float | None = None
    release: int | None = None
    """The release that answered (None: answered without one); not stored, used to pick the run."""


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of one arm in a run: questions, answered ones (no model error), and each kind of trouble."""

    questions: int = 0
    answered: int = 0
    refused: int = 0
    thumbs_down: int = 0
    dropped: int = 0
    checked: int = 0
    unsupported: int = 0
    model_errors: int = 0
    last_at: datetime | None = None


class CanaryRuns:
    """Reads and writes canary runs and their observations."""

    def __init__(self, engine: sa.Engine, feedback_engine: sa.Engine | None = None) -> None:
        """``engine``: where runs and observations are kept; ``feedback_engine``: the database of the
        answers' feedback (thumbs-down), when it is another one (default: the same)."""
        self._db = engine
        self._feedback_db = feedback_engine if feedback_engine is not None else engine
        metadata.create_all(engine)
        for index in observation_indexes:  # databases of older releases (the feedback store makes its own)
            index.create(engine, checkfirst=True)
        backfill_counts(engine, runs_table, observations_table, counts_table)
        self._latencies = LatencySample(observations_table)

    def close(self) -> None:
        """Release the runs' database pool when it is not the feedback's (a file of its own)."""
        if self._db is not self._feedback_db:
            self._db.dispose()

    def start(
        self,
        index: str,
        version: int,
        policy: CanaryPolicy,
        started_at: datetime | None = None,
        *,
        release: int | None = None,
        adopt: bool = False,
    ) -> Run:
        """Begin a run for ``index``'s canary ``release`` (index ``version``); earlier active runs of the
        index become ``replaced``, in the same transaction.

        ``adopt`` (the watcher finding a canary without a run): when the index already has an active
        run that judges this release (:meth:`Run.judges`), return it instead (someone else began one in
        the meantime).
        """
        at = started_at or datetime.now(UTC)
        with self._db.begin() as conn:
            existing = None
            if adopt:
                rows = conn.execute(
                    _runs_query().where(runs_table.c.index_name == index, runs_table.c.state.in_(ACTIVE))
                )
                existing = next((r.id for r in map(_run, rows) if r.judges(release, version)), None)
            found = existing if existing is not None else self._insert(conn, index, version, release, policy, at)
        run = self.get(found)
        assert run is not None
        return run

    @staticmethod
    def _insert(
        conn: sa.Connection, index: str, version: int, release: int | None, policy: CanaryPolicy, at: datetime
    ) -> int:
        """Replace the index's active runs by a new running one of ``release``; its id."""
        conn.execute(
            runs_table.update()
            .where(runs_table.c.index_name == index, runs_table.c.state.in_(ACTIVE))
            .values(state="replaced", decided_at=at)
        )
        key = conn.execute(
            runs_table.insert().values(
                index_name=index, version=version, started_at=at, policy=policy.model_dump_json(), state="running"
            )
        ).inserted_primary_key
        assert key is not None
        conn.execute(run_releases_table.insert().values(run_id=int(key[0]), release_number=release))
        return int(key[0])

    def get(self, run_id: int) -> Run | None:
        """One run, or None."""
        with self._db.connect() as conn:
            row = conn.execute(_runs_query().where(runs_table.c.id == run_id)).first()
        return None if row is None else _run(row)

    def latest(self, index: str) -> Run | None:
        """The index's most recent run, whatever its state; None when it never had one."""
        with self._db.connect() as conn:
            row = conn.execute(
                _runs_query().where(runs_table.c.index_name == index).order_by(runs_table.c.id.desc()).limit(1)
            ).first()
        return None if row is None else _run(row)

    def active(self, index: str) -> Run | None:
        """The index's run in a watched state, or None."""
        run = self.latest(index)
        return run if run is not None and run.active else None

    def active_runs(self) -> list[Run]:
        """Every run in a watched state."""
        with self._db.connect() as conn:
            rows = conn.execute(_runs_query().where(runs_table.c.state.in_(ACTIVE))).all()
        return [_run(r) for r in rows]

    def finish(
        self,
        run_id: int,
        state: str,
        reason: str | None = None,
        *,
        from_states: Sequence[str] = ACTIVE,
        deciding_answer_at: datetime | None = None,
    ) -> bool:
        """Move a run from one of ``from_states`` to ``state``; False when another process (or an earlier
        call) moved it first. Only the caller that gets True acts on the decision."""
        with self._db.begin() as conn:
            done = conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.state.in_(tuple(from_states)))
                .values(state=state, decided_at=datetime.now(UTC), reason=reason, deciding_answer_at=deciding_answer_at)
            ).rowcount
        return bool(done)

    def add(self, run_id: int, observations: Iterable[Observation]) -> int:
        """Append observations to a run (one transaction); returns how many."""
        rows: list[dict[str, Any]] = [
            {
                "run_id": run_id,
                "arm": o.arm,
                "version": o.version,
                "answer_id": o.answer_id,
                "at": o.at,
                "refused": o.refused,
                "dropped": o.dropped,
                "checked": o.checked,
                "unsupported": o.unsupported,
                "model_error": o.model_error,
                "latency_ms": o.latency_ms,
            }
            for o in observations
        ]
        if rows:
            with self._db.begin() as conn:
                conn.execute(observations_table.insert(), rows)
                add_counts(conn, counts_table, run_id, rows)
        return len(rows)

    def tallies(self, run_id: int) -> dict[Arm, Tally]:
        """Both arms' counts in the run; thumbs-down counts answers with at least one ``down`` rating."""
        with self._db.connect() as conn:
            started = conn.execute(sa.select(runs_table.c.started_at).where(runs_table.c.id == run_id)).scalar()
            counts = counts_of(conn, counts_table, run_id)
        down: dict[Arm, int] = {}
        rated = self._down_rated(_aware(started))
        if rated:  # usually none since the run began: no second read of the runs
            with self._db.connect() as conn:
                down = thumbs_down(conn, observations_table, run_id, rated)
        found: dict[Arm, Tally] = {arm: Tally() for arm in ARMS}
        for arm, c in counts.items():
            if arm in found:
                found[arm] = Tally(
                    c["questions"],
                    c["answered"],
                    c["refused"],
                    down.get(arm, 0),
                    c["dropped"],
                    c["checked"],
                    c["unsupported"],
                    c["model_errors"],
                    last_at=_aware(c["last_at"]),
                )
        return found

    def latencies(self, run_id: int, newest: int = LATENCY_SAMPLE) -> dict[Arm, list[float]]:
        """Each arm's answer latencies (ms) in the run, the ``newest`` of each arm, model errors left out
        (read incrementally: :mod:`rag.canary.latency_sample`)."""
        with self._db.connect() as conn:
            return self._latencies.read(conn, run_id, newest)

    def timeline(self, run_id: int) -> list[tuple[datetime, Arm, bool, bool]]:
        """Every observation of the run oldest first: (at, arm, refused, drew a thumbs-down)."""
        o = observations_table
        run = self.get(run_id)
        rated = self._down_rated(run.started_at if run is not None else None)
        query = (
            sa.select(o.c.at, o.c.arm, o.c.refused, o.c.answer_id)
            .where(o.c.run_id == run_id, sa.not_(o.c.model_error))
            .order_by(o.c.at, o.c.id)
        )
        with self._db.connect() as conn:
            return [(_aware(r[0]) or r[0], r[1], bool(r[2]), r[3] in rated) for r in conn.execute(query)]

    def _down_rated(self, since: datetime | None) -> set[str]:
        """Answers rated down since ``since`` (a run's start), from the feedback's database."""
        with self._feedback_db.connect() as conn:
            return down_rated(conn, feedback_table, since or datetime.min.replace(tzinfo=UTC))


def _runs_query() -> sa.Select[Any]:
    """Runs with the release each judges (None where the run has no release row, or a NULL one)."""
    return sa.select(runs_table, run_releases_table.c.release_number).outerjoin(
        run_releases_table, run_releases_table.c.run_id == runs_table.c.id
    )


def _run(row: sa.Row[Any]) -> Run:
    m = row._mapping
    release = m["release_number"]
    return Run(
        id=int(m["id"]),
        index=str(m["index_name"]),
        version=int(m["version"]),
        release=None if release is None else int(release),
        started_at=_aware(m["started_at"]) or datetime.now(UTC),
        policy=CanaryPolicy.model_validate(json.loads(m["policy"])),
        state=str(m["state"]),
        decided_at=_aware(m["decided_at"]),
        reason=m["reason"],
        deciding_answer_at=_aware(m["deciding_answer_at"]),
    )
