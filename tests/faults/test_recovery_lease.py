"""Issue 10 item 5: starting a second process never fails a healthy running job nor deletes its shard.

Two real ``rag worker`` processes over one data folder: the first runs a build and is paused in the
middle of it (``RAG_FAULT_PAUSE=embed``) for longer than ``job_stale_after_s``, so only the lease
its background thread renews keeps the job alive; the second starts (running start-up recovery)
while it is paused. The job must stay running, its half-built shard must stay, and once resumed
the build must finish. Run on SQLite and on PostgreSQL + Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.conftest import SAMPLE_DIR, make_settings
from tests.faults.processes import spawn, until
from tests.ingest import test_jobs_multihost as multihost

pg_url = multihost.pg_url  # a fresh PostgreSQL database per test (skips, saying why, without a server)
STALE_S = 3
WORKER = ["-m", "rag.cli", "worker"]


@pytest.fixture()
def redis_queue() -> Iterator[str]:
    """A Redis database of its own (skips, saying why, without a server); emptied before and after."""
    import redis

    url = multihost.REDIS_URL.rsplit("/", 1)[0] + "/12"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis reachable at {url} (set RAG_TEST_REDIS_URL): {exc}")
    client.flushdb()
    yield url
    client.flushdb()


def _second_process_leaves_a_healthy_job_alone(
    data_dir: Path, logs: Path, embedder: Embedder, env: dict[str, str], overrides: dict[str, Any]
) -> None:
    settings = make_settings(data_dir, worker_enabled=False, **overrides)
    services = build_services(settings, embedder=embedder)
    try:
        assert services.jobs is not None
        store = services.jobs.store
        job = store.create("policies", "full", "always", str(SAMPLE_DIR / "people"))
        services.jobs.queue.enqueue(job.job_id)
        env = {"RAG_JOB_STALE_AFTER_S": str(STALE_S), **env}
        with spawn(WORKER, data_dir, logs, "first", pause="embed", **env) as first:
            first.wait_paused()
            running = store.get(job.job_id)
            assert running is not None and running.state == "running" and running.heartbeat_at is not None
            version = max(v.version for v in services.catalog.list_versions("policies"))
            assert services.catalog.version_state("policies", version) == "building"
            # the build stays paused past the stale limit: only the lease thread renews it
            since = running.heartbeat_at + timedelta(seconds=STALE_S + 1)

            def renewed_past_stale() -> bool:
                beat = store.get(job.job_id).heartbeat_at  # type: ignore[union-attr]
                return beat is not None and beat > since

            until("the lease to be renewed past the stale limit", renewed_past_stale, 30)
            with spawn(WORKER, data_dir, logs, "second", **env) as second:
                second.wait_output("waiting for build jobs")  # its start-up recovery is done
                after = store.get(job.job_id)
                assert after is not None
                assert after.state == "running", after.error
                assert after.worker == running.worker
                assert services.catalog.version_state("policies", version) == "building"
                if not overrides.get("qdrant_url"):
                    assert services.engine.has_version("policies", version), "its half-built shard was deleted"
                first.resume()
                done = until(
                    "the build to finish",
                    lambda: (j := store.get(job.job_id)) is not None and j.state not in ("queued", "running") and j,
                    180,
                )
            assert done.state == "succeeded", (done.error, first.output()[-2000:])
            assert done.result["version"] == version and done.result["promoted"] is True
            assert services.catalog.get_alias("policies") == ("policies", version)
    finally:
        services.close()


def test_a_second_worker_on_sqlite_leaves_a_healthy_job_alone(
    sample_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    _second_process_leaves_a_healthy_job_alone(sample_copy, tmp_path / "logs", embedder, {}, {})


def test_a_second_worker_on_postgres_and_redis_leaves_a_healthy_job_alone(
    pg_url: str, redis_queue: str, tmp_path: Path, embedder: Embedder
) -> None:
    data_dir = tmp_path / "data"
    seed = build_services(make_settings(data_dir, database_url=pg_url, queue_url=redis_queue), embedder=embedder)
    try:
        seed.builder.build("policies", SAMPLE_DIR / "people", promote=True)  # v1 live
    finally:
        seed.close()
    env = {"RAG_DATABASE_URL": pg_url, "RAG_QUEUE_URL": redis_queue}
    overrides = {"database_url": pg_url, "queue_url": redis_queue}
    try:
        _second_process_leaves_a_healthy_job_alone(data_dir, tmp_path / "logs", embedder, env, overrides)
    finally:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def test_start_up_recovery_fails_a_job_whose_process_is_gone_at_once(
    sample_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """The other side: kill -9 the worker, and the next process fails the job without waiting for the lease."""
    from ingest.jobs.recovery import recover

    settings = make_settings(sample_copy, worker_enabled=False, job_stale_after_s=3600)
    services = build_services(settings, embedder=embedder)
    try:
        assert services.jobs is not None
        job = services.jobs.store.create("policies", "full", "always", str(SAMPLE_DIR / "people"))
        services.jobs.queue.enqueue(job.job_id)
        with spawn(WORKER, sample_copy, tmp_path / "logs", "doomed", pause="embed") as doomed:
            doomed.wait_paused()
            doomed.kill9()
        started = datetime.now()
        done = recover(services.jobs.store, services.jobs.queue, services.catalog, services.engine, timedelta(hours=1))
        assert done.failed_jobs == [job.job_id] and (datetime.now() - started).total_seconds() < 30
        failed = services.jobs.store.get(job.job_id)
        assert failed is not None and failed.state == "failed" and "stopped while running" in (failed.error or "")
    finally:
        services.close()


def test_worker_identity_tells_a_reused_pid_from_its_owner() -> None:
    import os
    import socket
    import subprocess
    import sys

    from ingest.jobs.identity import liveness, parse_worker_id, worker_id

    me = worker_id()
    parsed = parse_worker_id(me)
    assert parsed is not None and parsed.host == socket.gethostname() and parsed.pid == os.getpid()
    assert liveness(me) == "alive"
    namespace = (parsed.token or "").partition("-")[0]
    # this pid with another start time: an earlier process whose pid was reused (a restarted container)
    assert liveness(f"{parsed.host}:{parsed.pid}:{namespace}-1") == "dead"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert liveness(f"{parsed.host}:{gone.stdout.strip()}:{namespace}-1") == "dead"  # exited
    assert liveness(f"another-host:{parsed.pid}:{parsed.token}") == "unknown"  # only its lease can tell
    assert liveness(f"{parsed.host}:{parsed.pid}:4026530000-1") == "unknown"  # another pid namespace
    assert liveness("elsewhere:4242") == "unknown" and parse_worker_id("nonsense") is None
