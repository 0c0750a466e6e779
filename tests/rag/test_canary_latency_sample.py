"""Each arm's newest latencies, read incrementally, equal what a full read of the run gives: the first
read through the index, later reads only the rows written since, model errors left out, runs apart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from rag.canary.policy import CanaryPolicy
from rag.canary.runs import CanaryRuns, Observation, observations_table

POLICY = CanaryPolicy(min_questions=5, min_duration_s=0, max_worsening={}, confidence=0.95, auto_promote=False)


def _full_read(engine: sa.Engine, run_id: int, arm: str, newest: int) -> list[float]:
    o = observations_table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(o.c.latency_ms)
            .where(o.c.run_id == run_id, o.c.arm == arm, o.c.latency_ms.is_not(None), sa.not_(o.c.model_error))
            .order_by(o.c.id.desc())
            .limit(newest)
        ).scalars()
        return sorted(float(v) for v in rows)


def test_incremental_reads_equal_a_full_read(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    runs = CanaryRuns(engine)
    run, other = runs.start("policies", 2, POLICY), runs.start("handbooks", 3, POLICY)
    at = run.started_at + timedelta(seconds=1)
    written = 0

    def write(n: int, run_id: int = run.id) -> None:
        nonlocal written
        batch = [
            Observation(
                "policies",
                "canary" if (written + i) % 3 == 0 else "live",
                2,
                None,
                at,
                model_error=(written + i) % 7 == 0,
                latency_ms=None if (written + i) % 11 == 0 else float(written + i),
            )
            for i in range(n)
        ]
        written += n
        runs.add(run_id, batch)

    write(40)
    for step in (1, 25, 60, 3):  # the sample fills up, then slides
        found = runs.latencies(run.id, newest=30)
        for arm in ("live", "canary"):
            assert sorted(found[arm]) == _full_read(engine, run.id, arm, 30)
        write(step)
        write(5, other.id)  # another run's rows never enter this run's sample
    assert runs.latencies(other.id, newest=30)["live"]
    assert len(runs.latencies(run.id, newest=30)["live"]) == 30
    assert CanaryRuns(engine).latencies(run.id, newest=30) == runs.latencies(run.id, newest=30)  # a new reader agrees
    engine.dispose()
