"""Runs one build job: claim it, build the version, gate it, promote it by policy, record the outcome.

Guarantees: a job ends in exactly one final state with a reason; builds of one index never run at
the same time (a queue lock); cancellation or failure leaves no half-built version and never moves
an alias; a worker that shuts down puts its job back in the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huey.exceptions import RetryTask, TaskLockedException

from indexes.canary import DEFAULT_CANARY_SHARE
from indexes.manifest import Manifest
from ingest.build import BuildCancelled, Builder, BuildResult
from ingest.jobs.lease import Lease
from ingest.jobs.queue import BuildQueue
from ingest.jobs.store import Job, JobState, JobStore
from ingest.sources import Collected, discover
from rag.errors import RagError, SourceError

__all__ = ["BuildRunner", "Hooks"]

log = logging.getLogger("ingest.jobs.runner")

CollectFn = Callable[[str], Collected]
GateFn = Callable[[str, Manifest], dict[str, Any]]
AfterFn = Callable[[str], list[int]]
ShareFn = Callable[[str], float]
"""The canary share (0 < share <= 1) a build of an index starts its canary with."""
FinishedFn = Callable[[Job, JobState, dict[str, Any] | None, str | None], None]
"""Told every finished job: (job, state, result, error); e.g. the audit log."""


@dataclass
class Hooks:
    """What the runner needs beyond the builder, wired by the composition root.

    ``collect``: the documents of an index's next build (its configured source and uploads), with the
    source's label and revision.
    ``gate``: evaluates a sealed version against the live one; the result goes into the manifest.
    ``retention``: drops old versions after a build; returns the versions dropped.
    ``finished``: told the outcome of every job that ends (succeeded, failed, cancelled).
    ``canary_share``: the share a ``canary`` build's version answers (unset: ``DEFAULT_CANARY_SHARE``).
    """

    collect: CollectFn | None = None
    gate: GateFn | None = None
    retention: AfterFn | None = None
    finished: FinishedFn | None = None
    canary_share: ShareFn | None = None


class BuildRunner:
    """Executes build jobs delivered by a ``BuildQueue``."""

    def __init__(
        self,
        store: JobStore,
        builder: Builder,
        worker: str,
        hooks: Hooks | None = None,
        *,
        heartbeat_s: float = 1.0,
        lock_retry_s: float = 2.0,
    ) -> None:
        self.store = store
        self.builder = builder
        self.worker = worker
        self.hooks = hooks or Hooks()
        self.heartbeat_s = heartbeat_s
        self.lock_retry_s = lock_retry_s
        self.queue: BuildQueue | None = None
        self.stopping = threading.Event()

    def attach(self, queue: BuildQueue) -> None:
        """The queue whose per-index lock the runner takes."""
        self.queue = queue

    def __call__(self, job_id: str) -> None:
        """Run one delivered job (the queue's task function)."""
        job = self.store.get(job_id)
        if job is None or job.state != "queued":
            return  # unknown, cancelled or already handled: duplicate deliveries are no-ops
        assert self.queue is not None, "attach a queue first"
        lock = self.queue.lock(job.index)
        try:
            lock.acquire()
        except TaskLockedException:
            self.store.note(job_id, {"stage": "queued", "note": f"waiting for another build of {job.index}"})
            raise RetryTask(delay=self.lock_retry_s) from None
        try:
            claimed = self.store.claim(job_id, self.worker)
            if claimed is not None:
                self._run(claimed)
        finally:
            lock.release()

    def _files(self, job: Job) -> Collected:
        if job.source:
            files, skipped = discover(Path(job.source))
            return Collected(files, skipped, job.source)
        if self.hooks.collect is None:
            raise SourceError(f"index {job.index!r} has no source folder: give one with the build request")
        return self.hooks.collect(job.index)

    def _run(self, job: Job) -> None:
        progress: dict[str, Any] = {"stage": "collecting"}
        with Lease(self.store, job.job_id, progress, self.heartbeat_s) as lease:
            self._run_leased(job, progress, lease)

    def _run_leased(self, job: Job, progress: dict[str, Any], lease: Lease) -> None:
        def on_progress(stage: str, done: int, total: int) -> None:
            key = {"load": "documents", "embed": "chunks"}.get(stage, stage)
            changed = progress.get("stage") != stage
            progress.update({"stage": stage, f"{key}_done": done, f"{key}_total": total})
            if changed:
                lease.poke()

        def on_file(name: str) -> None:
            progress["file"] = name

        def should_cancel() -> bool:
            return lease.cancelled.is_set() or lease.lost.is_set() or self.stopping.is_set()

        started = time.perf_counter()
        gate_result: dict[str, Any] = {}

        def finalize(manifest: Manifest) -> Manifest:
            if self.hooks.gate is None:
                return manifest
            progress["stage"] = "evaluating"
            lease.poke()
            gate_result.update(self.hooks.gate(job.index, manifest))
            return manifest.model_copy(update={"evaluation": {**manifest.evaluation, "gate": gate_result}})

        try:
            collected_at = datetime.now(UTC)
            collected = self._files(job)
            result = self.builder.build(
                job.index,
                files=collected.files,
                skipped=collected.skipped,
                source_label=collected.source,
                source_revision=collected.revision,
                mode=job.mode,
                promote=job.promote == "always",
                progress=on_progress,
                should_cancel=should_cancel,
                finalize=finalize if (self.hooks.gate is not None and job.promote != "always") else None,
                on_file=on_file,
                collected_at=collected_at,
            )
        except BuildCancelled as exc:
            lease.renew()
            if lease.lost.is_set():
                log.warning("job %s stopped: it is no longer this worker's (%s)", job.job_id, exc.message)
                return
            if self.stopping.is_set() and not lease.cancelled.is_set():
                self.store.requeue(job.job_id, "worker shut down; the job will run again")
                if self.queue is not None:
                    self.queue.enqueue(job.job_id)
                return
            self._finish(job, "cancelled", error=exc.message)
            return
        except RagError as exc:
            self._finish(job, "failed", error=f"{exc.code}: {exc.message}")
            return
        except Exception as exc:  # the job records every failure; the worker keeps running
            log.exception("build job %s failed", job.job_id)
            self._finish(job, "failed", error=f"{type(exc).__name__}: {exc}")
            return
        progress["stage"] = "finishing"
        lease.poke()
        promoted, reason = self._promote(job, result, gate_result)
        dropped = self.hooks.retention(job.index) if self.hooks.retention else []
        m = result.manifest
        self._finish(
            job,
            "succeeded",
            result={
                "version": m.version,
                "promoted": promoted,
                "promotion": reason,
                "documents": len(m.documents),
                "chunks": m.chunk_count,
                "chunks_embedded": m.chunks_embedded,
                "chunks_reused": m.chunks_reused,
                "parent_version": m.parent_version,
                "full_build": result.full_build_reason,
                "source_revision": m.source_revision,
                "errors": [e.model_dump() for e in m.errors],
                "skipped": result.skipped,
                "gate": gate_result or None,
                "retention_dropped": dropped,
                "timings_ms": {**m.timings_ms, "job_total": round((time.perf_counter() - started) * 1000, 1)},
            },
        )

    def _finish(
        self, job: Job, state: JobState, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        self.store.finish(job.job_id, state, result=result, error=error)
        if self.hooks.finished is not None:
            try:
                self.hooks.finished(job, state, result, error)
            except Exception:  # a failing observer never fails a finished build
                log.exception("the finished hook failed for job %s", job.job_id)

    def _promote(self, job: Job, result: BuildResult, gate: dict[str, Any]) -> tuple[bool, str]:
        """Apply the job's promotion policy to its sealed version; returns (the live alias moved, why).

        ``canary``: a version that passes the gate becomes the index's canary (the live alias stays);
        with no live version yet there is nothing to split traffic with, so it is promoted instead.
        """
        version = result.manifest.version
        if job.promote == "always":
            return True, f"promoted v{version}: policy 'always'"
        if job.promote == "never":
            return False, f"not promoted: policy 'never'; promote v{version} by hand"
        if not gate:
            return False, "not promoted: no golden set to gate on"
        if gate.get("passed") and job.promote == "canary":
            return self._canary(job.index, version, gate)
        if gate.get("passed"):
            self.builder.registry.promote(job.index, version)
            return True, f"promoted v{version}: gate passed ({'; '.join(gate.get('reasons', []))})"
        return False, f"not promoted: gate failed ({'; '.join(gate.get('reasons', []))})"

    def _canary(self, index: str, version: int, gate: dict[str, Any]) -> tuple[bool, str]:
        """Start the canary of ``version`` (as ``POST .../canary`` does), or promote it when nothing is live."""
        passed = "; ".join(gate.get("reasons", []))
        registry = self.builder.registry
        if registry.live_version(index) is None:
            registry.promote(index, version)
            return True, f"promoted v{version}: gate passed ({passed}) and no version was live to canary against"
        share = self.hooks.canary_share(index) if self.hooks.canary_share else DEFAULT_CANARY_SHARE
        try:
            canary = registry.set_canary(index, version, share)
        except RagError as exc:  # e.g. the version became live meanwhile: the alias stays as it is
            return False, f"not promoted: gate passed but the canary was refused ({exc.message})"
        return False, f"canary v{canary.version} answers {canary.share:g} of questions: gate passed ({passed})"
