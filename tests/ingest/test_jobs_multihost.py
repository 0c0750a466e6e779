"""The multi-host shape: job records and catalog in PostgreSQL, the queue on Redis, two workers.

Runs against the PostgreSQL and Redis servers on loopback (``RAG_TEST_POSTGRES_URL``,
``RAG_TEST_REDIS_URL``); skips, saying why, when either is unreachable.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingest.embedding import Embedder
from ingest.jobs.queue import BuildQueue, make_huey
from ingest.jobs.runner import BuildRunner
from ingest.jobs.store import JobState, JobStore
from rag.wiring import build_services
from tests.conftest import SAMPLE_DIR, make_settings
from tests.indexes.test_catalog_postgres import ADMIN_URL

REDIS_URL = os.environ.get("RAG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"rag_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL reachable at {ADMIN_URL} (set RAG_TEST_POSTGRES_URL): {exc.orig}")
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis reachable at {REDIS_URL} (set RAG_TEST_REDIS_URL): {exc}")
    return REDIS_URL


def _state(store: JobStore, job_id: str) -> JobState:
    job = store.get(job_id)
    assert job is not None, f"job {job_id} is gone"
    return job.state


def test_two_workers_share_a_redis_queue_and_never_build_one_index_at_once(
    pg_url: str, redis_url: str, embedder: Embedder, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", database_url=pg_url, queue_url=redis_url, worker_enabled=False)
    services = build_services(settings, embedder=embedder)
    assert services.jobs is not None
    store = services.jobs.store
    # two independent workers (as two `rag worker` processes would be) on one queue
    huey_a, huey_b = make_huey(redis_url, tmp_path), make_huey(redis_url, tmp_path)
    runners = [BuildRunner(store, services.builder, f"worker-{n}:1") for n in "ab"]
    queues = [BuildQueue(h, r) for h, r in zip((huey_a, huey_b), runners, strict=True)]
    for runner, queue in zip(runners, queues, strict=True):
        runner.attach(queue)
    huey_a.storage.flush_all()
    try:
        jobs = [store.create("policies", "incremental", "always", str(SAMPLE_DIR / "people")) for _ in range(3)]
        for job in jobs:
            queues[0].enqueue(job.job_id)
        overlaps: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                overlaps.append(len([j for j in store.running() if j.index == "policies"]))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        for queue in queues:
            queue.start(1)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and any(_state(store, j.job_id) in ("queued", "running") for j in jobs):
            time.sleep(0.3)
        stop.set()
        watcher.join()
        for queue in queues:
            queue.stop()
        finished = [store.get(j.job_id) for j in jobs]
        assert [j.state for j in finished] == ["succeeded"] * 3, [j.error for j in finished]  # type: ignore[union-attr]
        assert sorted(j.result["version"] for j in finished) == [1, 2, 3]  # type: ignore[union-attr,index]
        assert max(overlaps) == 1  # never two builds of one index at the same time
        assert {j.worker for j in finished} <= {"worker-a:1", "worker-b:1"}  # type: ignore[union-attr]
        assert services.catalog.get_alias("policies") is not None
    finally:
        huey_a.storage.flush_all()
        services.close()
