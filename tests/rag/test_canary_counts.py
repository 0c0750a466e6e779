"""A canary run's per-arm counts: kept with every write (several writers add up), equal to what the
observations say, thumbs-down read from the ratings, and filled in once for runs begun before counts
were kept; on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from rag.answer_log import AnswerLog
from rag.canary.policy import CanaryPolicy
from rag.canary.runs import CanaryRuns, Observation, Tally, counts_table, observations_table
from rag.feedback import FeedbackStore, feedback_table
from tests.indexes.test_catalog_postgres import pg_url
from tests.rag.test_feedback_store import _record, engine

__all__ = ["engine", "pg_url"]  # the fixtures, re-used

POLICY = CanaryPolicy(min_questions=5, min_duration_s=0, max_worsening={}, confidence=0.95, auto_promote=False)


def _observations(n: int, seed: int, at: datetime) -> list[Observation]:
    rng = random.Random(seed)
    found = []
    for i in range(n):
        arm = rng.choice(["live", "canary"])
        error = rng.random() < 0.1
        checked = not error and rng.random() < 0.5
        found.append(
            Observation(
                "policies",
                arm,  # type: ignore[arg-type]
                2 if arm == "canary" else 1,
                uuid.uuid4().hex,
                at + timedelta(milliseconds=i),
                refused=not error and rng.random() < 0.3,
                dropped=not error and rng.random() < 0.2,
                checked=checked,
                unsupported=checked and rng.random() < 0.5,
                model_error=error,
                latency_ms=None if error else 20.0 + i,
            )
        )
    return found


def _expected(observations: list[Observation], down: set[str]) -> dict[str, Tally]:
    """The tallies as a full count over the observations would give them."""
    found = {}
    for arm in ("live", "canary"):
        mine = [o for o in observations if o.arm == arm]
        found[arm] = Tally(
            questions=len(mine),
            answered=sum(not o.model_error for o in mine),
            refused=sum(o.refused for o in mine),
            thumbs_down=sum(o.answer_id in down for o in mine),
            dropped=sum(o.dropped for o in mine),
            checked=sum(o.checked for o in mine),
            unsupported=sum(o.unsupported for o in mine),
            model_errors=sum(o.model_error for o in mine),
            last_at=max(o.at for o in mine),
        )
    return found


def _rate_down(engine: sa.Engine, answer_ids: list[str]) -> set[str]:
    """Save answers under these ids and rate each down (some twice: an answer counts once)."""
    log, store = AnswerLog(engine), FeedbackStore(engine)
    for i, answer_id in enumerate(answer_ids):
        log.save({**_record("q"), "answer_id": answer_id})
        store.add(answer_id, "down")
        if i % 2:
            store.add(answer_id, "down", "still wrong")
    return set(answer_ids)


def test_counts_kept_by_two_writers_equal_a_full_count(engine: sa.Engine) -> None:
    FeedbackStore(engine)  # the feedback table the tallies read
    one, two = CanaryRuns(engine), CanaryRuns(engine)  # two processes writing one run
    run = one.start("policies", 2, POLICY, release=4)
    observations = _observations(300, seed=7, at=run.started_at + timedelta(seconds=1))
    for start in range(0, len(observations), 37):
        (one if start % 2 else two).add(run.id, observations[start : start + 37])
    down = _rate_down(engine, [o.answer_id for o in observations[::9] if o.answer_id is not None])

    assert one.tallies(run.id) == two.tallies(run.id) == _expected(observations, down)
    other = one.start("handbooks", 3, POLICY, release=1)
    assert one.tallies(other.id) == {"live": Tally(), "canary": Tally()}  # nothing leaks between runs


def test_runs_begun_before_counts_get_them_once_at_start(engine: sa.Engine) -> None:
    FeedbackStore(engine)
    runs = CanaryRuns(engine)
    run = runs.start("policies", 2, POLICY, release=4)
    observations = _observations(120, seed=3, at=datetime.now(UTC) + timedelta(seconds=1))
    runs.add(run.id, observations)
    with engine.begin() as conn:  # as a previous release left it: observations without counts
        conn.execute(counts_table.delete())
    assert runs.tallies(run.id) == {"live": Tally(), "canary": Tally()}

    restarted = CanaryRuns(engine)  # the next start fills them in
    assert restarted.tallies(run.id) == _expected(observations, set())
    CanaryRuns(engine)  # and a later start adds nothing twice
    assert restarted.tallies(run.id) == _expected(observations, set())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(observations_table)).scalar() == 120
        assert conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar() == 0
