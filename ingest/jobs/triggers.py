"""Queueing builds that something other than a person asked for (a webhook, a schedule), coalesced per index.

Guarantee: while a build of an index's configured sources is queued and not yet started, further
triggers join it instead of queueing another, so a burst of pushes gives one build (it collects the
source when it starts, so it sees every push of the burst). A trigger that arrives while a build
runs queues one more: the running build may have collected before the push.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ingest.jobs.store import Job, JobStore, PromotePolicy

__all__ = ["BuildTrigger"]


class BuildTrigger:
    """Queues incremental builds of an index's configured sources, at most one waiting per index."""

    def __init__(self, store: JobStore, enqueue: Callable[[str], None]) -> None:
        self.store = store
        self.enqueue = enqueue
        self._lock = threading.Lock()

    def request(self, index: str, promote: PromotePolicy, trigger: str) -> tuple[Job, bool]:
        """The queued job that will build ``index``, and whether this call queued it (False: coalesced)."""
        with self._lock:
            waiting = [j for j in self.store.queued_for(index) if j.source is None]
            if waiting:
                return waiting[0], False
            job = self.store.create(index, "incremental", promote, None, trigger)
        self.enqueue(job.job_id)
        return job, True
