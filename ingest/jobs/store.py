"""The job records: state, progress, result and errors of every build job, in the metadata database.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. Every transition
is one conditional UPDATE, so two workers can never both claim a job, and a finished job never
changes again.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field

from ingest.promotion import PromotePolicy

__all__ = ["Beat", "Job", "JobState", "JobStore", "PromotePolicy"]

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Beat = Literal["ok", "cancel", "lost"]
"""What a lease renewal found: keep going, cancellation requested, or the job is no longer ours."""
FINISHED: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")

metadata = sa.MetaData()

jobs_table = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("index_name", sa.String(128), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("promote", sa.String(16), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    sa.Column("worker", sa.String(200)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("progress", sa.Text, nullable=False, default="{}"),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
)

triggers_table = sa.Table(
    "job_triggers",
    metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("trigger", sa.String(300), nullable=False),
)
"""What started a job (``api``, ``cli``, ``webhook:github push abc123``, ``schedule``, ``watch``), beside
``jobs`` so existing databases gain it without a column change."""


def _select() -> sa.Select[Any]:
    return sa.select(jobs_table, triggers_table.c.trigger).select_from(
        jobs_table.outerjoin(triggers_table, triggers_table.c.job_id == jobs_table.c.job_id)
    )


class Job(BaseModel):
    """A build job as the API shows it."""

    job_id: str
    index: str
    state: JobState
    mode: Literal["incremental", "full"]
    promote: PromotePolicy
    source: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    worker: str | None
    cancel_requested: bool
    progress: dict[str, Any] = Field(description="Stage, documents and chunks done/total.")
    result: dict[str, Any] | None = Field(
        description="The version produced, chunks embedded vs reused, per-file errors, gate, timings."
    )
    error: str | None
    trigger: str | None = Field(None, description="What started the job: api, cli, webhook:..., schedule, watch.")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class JobStore:
    """Creates, claims, updates and finishes job records (thread- and process-safe through the database)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def create(self, index: str, mode: str, promote: str, source: str | None, trigger: str | None = None) -> Job:
        """A new queued job; ``trigger`` says what started it."""
        job_id = uuid.uuid4().hex
        with self._db.begin() as conn:
            conn.execute(
                jobs_table.insert().values(
                    job_id=job_id,
                    index_name=index,
                    state="queued",
                    mode=mode,
                    promote=promote,
                    source=source,
                    created_at=_now(),
                    cancel_requested=False,
                    progress=json.dumps({"stage": "queued"}),
                )
            )
            if trigger is not None:
                conn.execute(triggers_table.insert().values(job_id=job_id, trigger=trigger[:300]))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        """One job, or None."""
        with self._db.connect() as conn:
            row = conn.execute(_select().where(jobs_table.c.job_id == job_id)).first()
        return None if row is None else _job(row)

    def list_jobs(self, index: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs, newest first, optionally of one index."""
        query = _select().order_by(jobs_table.c.created_at.desc()).limit(limit)
        if index is not None:
            query = query.where(jobs_table.c.index_name == index)
        with self._db.connect() as conn:
            return [_job(r) for r in conn.execute(query).all()]

    def queued_ids(self) -> list[str]:
        """Ids of every queued job, oldest first."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(jobs_table.c.job_id).where(jobs_table.c.state == "queued").order_by(jobs_table.c.created_at)
            ).all()
        return [str(r[0]) for r in rows]

    def queued_for(self, index: str) -> list[Job]:
        """The queued jobs of ``index``, oldest first (a new trigger joins one instead of queueing another)."""
        query = _select().where(jobs_table.c.index_name == index, jobs_table.c.state == "queued")
        with self._db.connect() as conn:
            return [_job(r) for r in conn.execute(query.order_by(jobs_table.c.created_at)).all()]

    def claim(self, job_id: str, worker: str) -> Job | None:
        """Move a queued job to running for ``worker``; None if it is not queued any more."""
        now = _now()
        with self._db.begin() as conn:
            claimed = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "queued")
                .values(
                    state="running",
                    started_at=now,
                    heartbeat_at=now,
                    worker=worker,
                    progress=json.dumps({"stage": "starting"}),
                )
            ).rowcount
        return self.get(job_id) if claimed else None

    def heartbeat(self, job_id: str, progress: dict[str, Any] | None = None) -> Beat:
        """Renew the lease of a running job (and record ``progress`` when given).

        Returns ``cancel`` when cancellation was requested, ``lost`` when the job is not running any
        more (failed by recovery, cancelled, finished: its worker must stop and publish nothing),
        else ``ok``.
        """
        values: dict[str, Any] = {"heartbeat_at": _now()}
        if progress is not None:
            values["progress"] = json.dumps(progress)
        with self._db.begin() as conn:
            renewed = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "running")
                .values(**values)
            ).rowcount
            requested = conn.execute(
                sa.select(jobs_table.c.cancel_requested).where(jobs_table.c.job_id == job_id)
            ).scalar()
        if not renewed:
            return "lost"
        return "cancel" if requested else "ok"

    def note(self, job_id: str, progress: dict[str, Any]) -> None:
        """Update the progress of a queued job (e.g. why it is waiting)."""
        with self._db.begin() as conn:
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "queued")
                .values(progress=json.dumps(progress))
            )

    def finish(
        self, job_id: str, state: JobState, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> bool:
        """End a queued or running job in a final state; False if it had already finished."""
        if state not in FINISHED:
            raise ValueError(f"{state!r} is not a final state")
        values: dict[str, Any] = {"state": state, "finished_at": _now(), "error": error}
        if result is not None:
            values["result"] = json.dumps(result, default=str)
        with self._db.begin() as conn:
            done = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state.in_(["queued", "running"]))
                .values(**values)
            ).rowcount
        return bool(done)

    def requeue(self, job_id: str, reason: str) -> bool:
        """Put a running job back in the queue (its worker is shutting down); False if not running."""
        with self._db.begin() as conn:
            done = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "running")
                .values(state="queued", worker=None, progress=json.dumps({"stage": "queued", "note": reason}))
            ).rowcount
        return bool(done)

    def request_cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job at once, or ask a running one to stop; None for an unknown job."""
        with self._db.begin() as conn:
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "queued")
                .values(state="cancelled", finished_at=_now(), error="cancelled before it started")
            )
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.state == "running")
                .values(cancel_requested=True)
            )
        return self.get(job_id)

    def running(self) -> list[Job]:
        """Every job in state running."""
        with self._db.connect() as conn:
            rows = conn.execute(_select().where(jobs_table.c.state == "running")).all()
        return [_job(r) for r in rows]

    def fail_stale(
        self,
        older_than: timedelta,
        *,
        dead_workers: frozenset[str] = frozenset(),
        alive_workers: frozenset[str] = frozenset(),
    ) -> list[Job]:
        """Fail running jobs whose worker is known dead, or whose lease expired and whose worker is
        not known alive.

        A worker renews its jobs' leases (``heartbeat``) from a thread of its own, so an expired
        lease means the process stopped or cannot reach the database; a worker in ``alive_workers``
        (seen running on this host) is never failed. Returns the jobs it failed.
        """
        cutoff = _now() - older_than
        failed: list[Job] = []
        for job in self.running():
            beat = job.heartbeat_at or job.started_at or job.created_at
            if job.worker in dead_workers:
                reason = f"the worker {job.worker} stopped while running this job"
            elif job.worker in alive_workers:
                continue
            elif beat < cutoff:
                reason = f"the lease of worker {job.worker} expired at {beat.isoformat()}: presumed dead"
            else:
                continue
            with self._db.begin() as conn:
                done = conn.execute(
                    jobs_table.update()
                    .where(
                        jobs_table.c.job_id == job.job_id,
                        jobs_table.c.state == "running",
                        jobs_table.c.heartbeat_at == job.heartbeat_at,  # not renewed meanwhile
                    )
                    .values(state="failed", finished_at=_now(), error=reason)
                ).rowcount
            if done:
                refreshed = self.get(job.job_id)
                assert refreshed is not None
                failed.append(refreshed)
        return failed


def _job(row: sa.Row[Any]) -> Job:
    m = row._mapping
    return Job(
        job_id=m["job_id"],
        index=m["index_name"],
        state=m["state"],
        mode=m["mode"],
        promote=m["promote"],
        source=m["source"],
        created_at=_aware(m["created_at"]) or _now(),
        started_at=_aware(m["started_at"]),
        finished_at=_aware(m["finished_at"]),
        heartbeat_at=_aware(m["heartbeat_at"]),
        worker=m["worker"],
        cancel_requested=bool(m["cancel_requested"]),
        progress=json.loads(m["progress"] or "{}"),
        result=json.loads(m["result"]) if m["result"] else None,
        error=m["error"],
        trigger=m.get("trigger"),
    )
