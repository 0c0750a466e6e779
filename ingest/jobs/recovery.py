"""Start-up recovery: no job stays ``running`` after its worker died, no half-built version stays
``building``, and no queued job is lost between the job table and the queue.

A running job is failed only when its worker is really gone: seen dead on this host (its pid is
gone or now belongs to another process, ``ingest.jobs.identity``), or its lease (renewed by the
worker's lease thread every second or so, whatever the build is doing) expired and the process is
not seen alive here. A half-built version is dropped only when no running job of its index is
left, so storage a live worker writes is never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from indexes.catalog import Catalog, VersionState
from indexes.engine import VectorEngine
from ingest.jobs.identity import liveness
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


def recover(
    jobs: JobStore, queue: BuildQueue, catalog: Catalog, engine: VectorEngine, stale_after: timedelta
) -> Recovered:
    """Fail orphaned running jobs (dead worker, or expired lease of a worker not seen alive), drop
    their half-built versions, release their index locks, and re-enqueue queued jobs missing from
    the queue."""
    out = Recovered()
    workers = {j.worker for j in jobs.running() if j.worker}
    seen = {w: liveness(w) for w in workers}
    dead = frozenset(w for w, state in seen.items() if state == "dead")
    alive = frozenset(w for w, state in seen.items() if state == "alive")
    for job in jobs.fail_stale(stale_after, dead_workers=dead, alive_workers=alive):
        out.failed_jobs.append(job.job_id)
        queue.lock(job.index).release()
        log.warning("job %s failed at recovery: %s", job.job_id, job.error)
    # Versions first, running jobs second: a version allocated after this read is not considered,
    # and one read here whose job is running when the jobs are read is left alone.
    building = catalog.building_versions()
    busy = {j.index for j in jobs.running()}
    for index, version in building:
        if index in busy:
            continue  # a live worker is building it
        if catalog.fail_building(index, version, "interrupted: the build's process stopped before it finished"):
            engine.drop_version(index, version)  # failed first: a finished build is never touched
            out.dropped_versions.append((index, version))
    for index in catalog.list_indexes():  # storage left by a process killed between the two steps
        for info in catalog.list_versions(index):
            if info.state == VersionState.FAILED:
                existed = engine.has_version(index, info.version)
                engine.drop_version(index, info.version)  # also a partly created, empty directory
                if existed:
                    out.dropped_versions.append((index, info.version))
    pending = queue.pending_job_ids()
    for job_id in jobs.queued_ids():
        if job_id not in pending:
            queue.enqueue(job_id)
            out.requeued_jobs.append(job_id)
    return out
