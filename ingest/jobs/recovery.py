"""Start-up recovery: no job stays ``running`` after its worker died, no half-built version stays
``building``, and no queued job is lost between the job table and the queue."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from ingest.jobs.queue import BuildQueue
from ingest.jobs.store import JobStore

__all__ = ["Recovered", "recover"]

log = logging.getLogger("ingest.jobs.recovery")


@dataclass
class Recovered:
    """What a recovery pass did."""

    failed_jobs: list[str] = field(default_factory=list)
    dropped_versions: list[tuple[str, int]] = field(default_factory=list)
    requeued_jobs: list[str] = field(default_factory=list)


def _dead_local_workers(workers: set[str]) -> frozenset[str]:
    """Workers of this host whose process is gone (or is this process, which holds no job yet)."""
    host = socket.gethostname()
    dead = set()
    for worker in workers:
        name, _, pid_text = worker.rpartition(":")
        if name != host or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            dead.add(worker)
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(worker)
        except PermissionError:
            pass  # alive, another user's
    return frozenset(dead)


def recover(
    jobs: JobStore, queue: BuildQueue, catalog: Catalog, engine: VectorEngine, stale_after: timedelta
) -> Recovered:
    """Fail orphaned running jobs (dead worker or no heartbeat), drop their half-built versions,
    release their index locks, and re-enqueue queued jobs missing from the queue."""
    out = Recovered()
    running = jobs.running()
    dead = _dead_local_workers({j.worker for j in running if j.worker})
    for job in jobs.fail_stale(stale_after, dead_workers=dead):
        out.failed_jobs.append(job.job_id)
        queue.lock(job.index).release()
        log.warning("job %s failed at recovery: %s", job.job_id, job.error)
    busy = {j.index for j in jobs.running()}
    for index, version in catalog.building_versions():
        if index in busy:
            continue  # a live worker elsewhere is building it
        engine.drop_version(index, version)
        catalog.mark_failed(index, version, "interrupted: the build's process stopped before it finished")
        out.dropped_versions.append((index, version))
    pending = queue.pending_job_ids()
    for job_id in jobs.queued_ids():
        if job_id not in pending:
            queue.enqueue(job_id)
            out.requeued_jobs.append(job_id)
    return out
