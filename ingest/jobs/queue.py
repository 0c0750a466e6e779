"""The job queue, on huey: SQLite storage in the data folder (embedded) or Redis (many hosts).

The queue only delivers job ids; the job's state lives in the ``JobStore``. Delivery is at least
once: the runner claims a job with a conditional update, so a duplicate delivery is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskLock
from huey.consumer import Consumer

__all__ = ["BuildQueue", "EmbeddedConsumer", "make_huey"]

log = logging.getLogger("ingest.jobs.queue")


def make_huey(queue_url: str | None, data_dir: Path) -> Huey:
    """A huey instance: ``redis://...`` URLs use Redis, anything else a SQLite file in ``data_dir``."""
    if queue_url and queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name="rag-builds", url=queue_url, results=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name="rag-builds", filename=str(data_dir / "queue.sqlite3"), results=False)


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A huey consumer that runs inside another program (the API): it leaves signal handling to it."""

    def _set_signal_handlers(self) -> None:
        return None


class BuildQueue:
    """Enqueues build jobs by id and runs a consumer that hands each id to ``run``."""

    def __init__(self, huey: Huey, run: Callable[[str], None]) -> None:
        self.huey = huey
        self._task = huey.task(name="build_job")(run)
        self._consumer: Consumer | None = None

    def enqueue(self, job_id: str) -> None:
        """Deliver ``job_id`` to a worker (durably: it survives a restart of this process)."""
        self._task(job_id)

    def pending_job_ids(self) -> set[str]:
        """Job ids waiting in the queue."""
        out: set[str] = set()
        for task in self.huey.pending():
            args: Any = task.args
            if args:
                out.add(str(args[0]))
        return out

    def lock(self, index: str) -> TaskLock:
        """The lock that keeps builds of one index one at a time, across workers."""
        return self.huey.lock_task(f"build:{index}")

    def start(self, workers: int = 1) -> None:
        """Run a consumer with ``workers`` threads inside this process until ``stop``."""
        if self._consumer is None:
            self._consumer = EmbeddedConsumer(self.huey, workers=workers, worker_type="thread", periodic=False)
            self._consumer.start()

    def stop(self) -> None:
        """Stop the in-process consumer, waiting for the job in hand (it checks for cancellation)."""
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def run_forever(self, workers: int = 1) -> None:
        """Run a consumer in the foreground (``rag worker``); returns on SIGINT/SIGTERM."""
        consumer = self.huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
        consumer.run()
