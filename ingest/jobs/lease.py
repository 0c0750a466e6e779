"""The lease of a running job: a thread of its own renews it, whatever the build is doing.

While a ``Lease`` is held, a daemon thread calls ``JobStore.heartbeat`` every ``interval_s``
seconds with the latest progress, independent of the work: a build stuck in one long step (a
huge file, a slow batch) still renews its lease, so recovery elsewhere never takes it for dead.
The thread also carries news back: ``cancelled`` is set within one interval of a cancel request,
and ``lost`` when the job stopped being this worker's (failed by recovery, finished elsewhere):
either way the build must stop and publish nothing. A renewal that fails (database unreachable)
is logged and retried at the next interval.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ingest.jobs.store import JobStore

__all__ = ["Lease"]

log = logging.getLogger("ingest.jobs.lease")


class Lease:
    """Renews one job's lease from a background thread until ``release``; a context manager."""

    def __init__(self, store: JobStore, job_id: str, progress: dict[str, Any], interval_s: float = 1.0) -> None:
        self.store = store
        self.job_id = job_id
        self.progress = progress
        self.interval_s = interval_s
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Lease:
        self.renew()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def renew(self) -> None:
        """Renew now, with the current progress (also called by the thread)."""
        try:
            beat = self.store.heartbeat(self.job_id, dict(self.progress))
        except Exception:  # the database may be briefly unreachable: try again next interval
            log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)
            return
        if beat == "cancel":
            self.cancelled.set()
        elif beat == "lost":
            self.lost.set()

    def poke(self) -> None:
        """Ask the thread to renew at once (a stage changed), without waiting for the database here."""
        self._wake.set()

    def release(self) -> None:
        """Stop renewing (the job is finishing); waits for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.renew()
