"""Where canary runs are kept: a SQLite file of their own beside an embedded metadata file (the
watcher's writes never hold the answers' write lock), the metadata database itself elsewhere, and
runs of an earlier release moved into the new file once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from rag.canary.policy import CanaryPolicy
from rag.canary.runs import CanaryRuns, Observation, counts_table, observations_table, runs_table
from rag.canary.storage import canary_engine
from rag.feedback import FeedbackStore
from tests.indexes.test_catalog_postgres import pg_url

__all__ = ["pg_url"]

POLICY = CanaryPolicy(min_questions=5, min_duration_s=0, max_worsening={}, confidence=0.95, auto_promote=False)


def _rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_an_embedded_metadata_file_gets_a_canary_file_beside_it(tmp_path: Path) -> None:
    meta = sa.create_engine(f"sqlite:///{tmp_path / 'rag.sqlite3'}")
    runs_engine = canary_engine(meta)
    try:
        assert runs_engine is not meta and Path(str(runs_engine.url.database)) == tmp_path / "rag-canary.sqlite3"
        FeedbackStore(meta)
        runs = CanaryRuns(runs_engine, feedback_engine=meta)
        run = runs.start("policies", 2, POLICY, release=3)
        at = run.started_at + timedelta(seconds=1)
        runs.add(run.id, [Observation("policies", "canary", 2, "a1", at, refused=True, latency_ms=12.0)])
        assert runs.tallies(run.id)["canary"].refused == 1
        assert _rows(runs_engine, observations_table) == 1
        assert not sa.inspect(meta).has_table(observations_table.name)  # nothing of it in the metadata file
    finally:
        runs_engine.dispose()
        meta.dispose()


def test_in_memory_and_server_databases_keep_the_runs_themselves(pg_url: str) -> None:
    for url in ("sqlite://", pg_url):
        engine = sa.create_engine(url)
        assert canary_engine(engine) is engine
        engine.dispose()


def test_runs_of_an_earlier_release_move_to_the_canary_file_once(tmp_path: Path) -> None:
    meta = sa.create_engine(f"sqlite:///{tmp_path / 'rag.sqlite3'}")
    FeedbackStore(meta)
    earlier = CanaryRuns(meta)  # as an earlier release kept them: in the metadata file
    run = earlier.start("policies", 2, POLICY, release=3)
    at = run.started_at + timedelta(seconds=1)
    earlier.add(run.id, [Observation("policies", arm, 2, None, at, latency_ms=10.0) for arm in ("live", "canary") * 5])
    before = earlier.tallies(run.id)

    runs_engine = canary_engine(meta)
    try:
        moved = CanaryRuns(runs_engine, feedback_engine=meta)
        assert moved.get(run.id) == run and moved.tallies(run.id) == before
        assert moved.latencies(run.id)["live"] == [10.0] * 5
        assert (_rows(meta, runs_table), _rows(meta, observations_table), _rows(meta, counts_table)) == (0, 0, 0)
        again = canary_engine(meta)  # a second start moves nothing and duplicates nothing
        assert _rows(again, observations_table) == 10 and _rows(again, runs_table) == 1
        again.dispose()
        assert moved.start("policies", 4, POLICY).id > run.id  # new runs continue the ids
    finally:
        runs_engine.dispose()
        meta.dispose()
