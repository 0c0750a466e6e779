"""The schedule runner: checks each scheduled index's source when due and queues a build only when it changed.

Runs as a daemon thread beside the build worker (``rag serve``, ``rag worker``). A check that finds
nothing builds nothing; a check that fails is recorded (``last_error``) and tried again at the next
due time. Every queued build says ``schedule`` as its trigger and uses the binding's promotion policy.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from ingest.jobs.triggers import BuildTrigger
from ingest.source_sync.sync import SourceSync
from ingest.sources.bindings import SourceBindings
from rag.errors import RagError

__all__ = ["SourceScheduler"]

log = logging.getLogger("ingest.source_sync.schedule")


class SourceScheduler:
    """Polls the bindings every ``tick_s`` seconds for due checks."""

    def __init__(self, bindings: SourceBindings, sync: SourceSync, trigger: BuildTrigger, tick_s: float = 15.0) -> None:
        self.bindings = bindings
        self.sync = sync
        self.trigger = trigger
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Check every due binding once; returns the indexes a build was queued (or joined) for."""
        now = now or datetime.now(UTC)
        queued: list[str] = []
        for binding in self.bindings.due(now):
            try:
                check = self.sync.check(binding.index)
            except RagError as exc:
                self.bindings.record_check(binding.index, now, revision=None, changed=False, error=exc.message)
                log.warning("source check of %s failed: %s", binding.index, exc.message)
                continue
            if check.changed:
                self.trigger.request(binding.index, binding.spec.promote, "schedule")
                queued.append(binding.index)
            self.bindings.record_check(binding.index, now, revision=check.revision, changed=check.changed)
        return queued

    def start(self) -> None:
        """Run checks in a daemon thread until ``stop``."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="source-schedule", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits for a check in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # the schedule keeps running whatever one round does
                log.exception("source schedule round failed")
            self._stop.wait(self.tick_s)
