"""The canary watcher: records what each arm served and acts on the verdict, off the answer path.

On the answer path, :meth:`CanaryWatch.answered` (and :meth:`failed` for a model error) only reads
the record's arm and puts a small observation on a queue. One background thread drains the queue,
writes the observations of indexes with a running canary in one transaction, judges those runs
(:func:`rag.canary.verdict.judge`; at once, or at most :data:`JUDGE_EVERY_S` later when one was just
judged) and acts:

- ``worse``: the canary is removed (alias history ``canary_rolled_back`` with the reason), audited
  as ``canary.rollback`` and announced on the webhook as ``canary.rolled_back``;
- ``passed``: promoted (``promote`` with the reason, audit ``canary.promote``, webhook
  ``canary.promoted``) when the policy says ``auto_promote``, else marked ready once (history
  ``canary_ready``, audit ``canary.ready``, webhook ``canary.ready``).

Feedback wakes the thread too (:meth:`poke`), and every ``interval_s`` (:data:`BUSY_SWEEP_S` while
answers arrive) it judges every running canary anyway (time passing can make one pass) and adopts
canaries set by other means (a build with ``promote=canary``, another process) under the default
policy, from their alias event's time.
A decision is taken by one process only (the run's compare-and-set state change).

Runs are per canary *release* (:meth:`rag.canary.runs.Run.judges`): an answer counts for a run only
when the release that answered is the run's, a canary replaced by another release (even of the
same index version) gets a new run, and a decision acts on the canary only while it is still the
release the run judged.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from indexes.canary import CANARY_ACTION, CANARY_READY_ACTION, CANARY_ROLLED_BACK_ACTION, Canary, canary_alias
from indexes.catalog import AliasEvent
from indexes.versions import VersionRegistry
from rag.access.audit import AuditLog
from rag.access.principal import system_principal
from rag.canary.arms import Arm, arm_of
from rag.canary.policy import CanaryPolicy
from rag.canary.runs import CanaryRuns, Observation, Run, Tally
from rag.canary.verdict import Verdict, judge
from rag.canary.webhook import Webhook
from rag.errors import RagError
from rag.records import AnswerRecord

__all__ = ["ACTOR", "BUSY_SWEEP_S", "GATHER_S", "JUDGE_EVERY_S", "CanaryStatus", "CanaryWatch", "WatchCost"]

ACTOR = system_principal("canary-analysis", "canary-analysis")
"""Who the canary analysis's alias switches and audit entries name."""

_POKE = "poke"
JUDGE_EVERY_S = 1.0
"""A run that received observations is judged at most this often (the rest wait, at most this long):
under heavy traffic the judgement's cost is bounded per second, not per answer. At 0.25 s, 16 clients
lost about 7% of their answers per second to the watcher (docs/benchmarks.md, issue 16, session 8);
a second keeps a decision well inside the 5 s budget."""
GATHER_S = 1.0
"""After the first observation of a batch, the watcher gathers for this long before writing: at most
one write a second however many answers arrive. Under 16 clients each SQLite write cost the watcher
about 4 ms of CPU; at 0.1 s (about five writes a second) the watcher took 2 % of the process's CPU,
at 1 s half that (docs/benchmarks.md, issue 16, session 9). A decision waits at most this long more."""
BUSY_SWEEP_S = 5.0
"""While answers arrive, the sweep (adopting canaries set by other processes, ending runs whose canary
is gone) runs at most this often: the batches already judge the runs they feed."""
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CanaryStatus:
    """What ``GET /v1/indexes/{name}/canary`` shows: the canary, its run, both arms and the verdict."""

    index: str
    canary: Canary | None
    run: Run | None
    tallies: dict[Arm, Tally]
    latencies: dict[Arm, list[float]]
    verdict: Verdict | None
    decisions: list[AliasEvent]


@dataclass(slots=True)
class WatchCost:
    """What the watcher's thread has spent since it started: what its bookkeeping can add to answers.

    Answers share the process with the watcher, so a request can be slowed by the watcher only while
    the watcher works: ``busy_s`` (wall time from a batch in hand to its end, writes and judgements
    included) bounds that, and ``cpu_s`` (the thread's CPU time) is the part that competes for the
    interpreter and the cores. ``/metrics`` exposes both (``rag_canary_watch_*``)."""

    batches: int = 0
    observations: int = 0
    cpu_s: float = 0.0
    busy_s: float = 0.0
    longest_batch_s: float = 0.0


class CanaryWatch:
    """Measures running canaries and removes, promotes or marks them ready by their policy."""

    def __init__(
        self,
        registry: VersionRegistry,
        runs: CanaryRuns,
        audit: AuditLog,
        defaults: CanaryPolicy,
        *,
        webhook: Webhook | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.runs = runs
        self.audit = audit
        self.defaults = defaults
        self.webhook = webhook
        self.interval_s = interval_s
        self._clock = clock
        self._queue: queue.SimpleQueue[Observation | str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one judgement at a time in this process (thread, routes)
        self._due: dict[int, tuple[float, Run]] = {}  # runs with new observations: when to judge them
        self._judged: dict[int, float] = {}  # when each run was last judged (monotonic)
        self.cost = WatchCost()

    # the answer path ------------------------------------------------------------------------------

    def answered(self, record: AnswerRecord) -> None:
        """Note one recorded answer (cheap: no database access; nothing while the watcher is stopped)."""
        if self._thread is None:
            return
        arm = arm_of(record)
        if arm is None:
            return
        support = record.support
        self._queue.put(
            Observation(
                index=arm.index,
                arm=arm.arm,
                version=arm.version,
                answer_id=record.answer_id,
                at=self._clock(),
                refused=record.refused,
                dropped=record.citations_dropped > 0,
                checked=bool(support),
                unsupported=bool(support) and not all(s.supported for s in support),
                latency_ms=record.timings_ms.get("total"),
                release=arm.release,
            )
        )

    def failed(self, index: str, alias: str | None, version: int, release: int | None = None) -> None:
        """Note a question an arm (release ``release``) could not answer because the model failed."""
        if self._thread is None:
            return
        arm = arm_of({"index": {"name": index, "alias": alias, "version": version}, "release": release})
        if arm is not None:
            self._queue.put(
                Observation(arm.index, arm.arm, arm.version, None, self._clock(), model_error=True, release=arm.release)
            )

    def poke(self) -> None:
        """Judge the running canaries soon (feedback arrived)."""
        if self._thread is not None:
            self._queue.put(_POKE)

    # control --------------------------------------------------------------------------------------

    def begin(self, canary: Canary, policy: CanaryPolicy | None = None) -> Run:
        """Start measuring ``canary`` under ``policy`` (default: the settings' policy)."""
        with self._lock:  # never interleaved with the watcher adopting the same canary
            return self.runs.start(canary.index, canary.version, policy or self.defaults, release=canary.release)

    def end(self, index: str, state: str = "removed", reason: str | None = None) -> None:
        """Stop measuring the index's canary (a person removed or replaced it)."""
        run = self.runs.active(index)
        if run is not None:
            self.runs.finish(run.id, state, reason)

    def status(self, index: str) -> CanaryStatus:
        """The canary, its latest run with both arms' figures and the verdict now (nothing is acted on).

        The run is read before the canary: a promotion moves the alias before it marks the run
        promoted, so a status whose run is promoted never still shows the canary.
        """
        run = self.runs.latest(index)
        canary = self.registry.canary(index)
        decisions = [
            e for e in self.registry.catalog.alias_history(canary_alias(index)) if e.action != CANARY_ACTION
        ] + [e for e in self.registry.catalog.alias_history(index) if e.actor == ACTOR.name]
        decisions.sort(key=lambda e: e.at)
        if run is None:
            return CanaryStatus(index, canary, None, {}, {}, None, decisions)
        tallies, latencies = self.runs.tallies(run.id), self.runs.latencies(run.id)
        verdict = judge(run, tallies, latencies, self._clock())
        return CanaryStatus(index, canary, run, dict(tallies), dict(latencies), verdict, decisions)

    # the background thread ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="canary-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after the batch in hand (observations still queued are dropped)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._queue.put(_POKE)
            thread.join(timeout=30)

    def _loop(self) -> None:
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            wake = min([next_sweep, *(at for at, _ in self._due.values())])
            timeout = max(0.0, wake - time.monotonic())
            batch: list[Observation | str] = []
            try:
                batch.append(self._queue.get(timeout=timeout))
                if isinstance(batch[0], Observation):
                    self._stop.wait(GATHER_S)
                while True:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            if self._stop.is_set():
                return
            began, began_cpu = time.monotonic(), time.thread_time()
            try:
                poked = self._record(batch)
                if poked or time.monotonic() >= next_sweep:
                    self._due.clear()  # the sweep judges (or schedules) every running canary
                    self.sweep(judge_all=poked)
                    busy = any(isinstance(item, Observation) for item in batch)
                    next_sweep = time.monotonic() + (max(self.interval_s, BUSY_SWEEP_S) if busy else self.interval_s)
                else:
                    self._judge_due()
            except Exception:  # a failing database must not end the watcher; the next batch retries
                _log.exception("canary_watch_failed")
            self._count(batch, time.monotonic() - began, time.thread_time() - began_cpu)

    def _count(self, batch: list[Observation | str], busy_s: float, cpu_s: float) -> None:
        cost = self.cost
        cost.batches += 1
        cost.observations += sum(1 for item in batch if isinstance(item, Observation))
        cost.busy_s += busy_s
        cost.cpu_s += cpu_s
        cost.longest_batch_s = max(cost.longest_batch_s, busy_s)

    def _record(self, batch: list[Observation | str]) -> bool:
        """Store the batch's observations of watched runs and judge those runs; True when poked."""
        poked = False
        by_index: dict[str, list[Observation]] = {}
        for item in batch:
            if isinstance(item, Observation):
                by_index.setdefault(item.index, []).append(item)
            else:
                poked = True
        for index, observations in by_index.items():
            run = self.runs.active(index)
            if run is None:
                continue
            kept = [
                o
                for o in observations
                if o.at >= run.started_at and (o.arm == "live" or run.judges(o.release, o.version))
            ]
            if kept:
                self.runs.add(run.id, kept)
                last = self._judged.get(run.id, float("-inf"))
                self._due.setdefault(run.id, (last + JUDGE_EVERY_S, run))
        return poked

    def _judge_due(self) -> None:
        """Judge the runs whose turn has come (new observations, not judged in the last JUDGE_EVERY_S)."""
        now = time.monotonic()
        for run_id, (at, run) in list(self._due.items()):
            if at <= now:
                del self._due[run_id]
                self.check(run)

    def sweep(self, judge_all: bool = True) -> None:
        """Adopt canaries without a run, end runs whose canary is gone, judge every running canary
        (``judge_all=False``: a run judged in the last :data:`JUDGE_EVERY_S` is judged when that has
        passed instead, so a timed sweep under traffic adds no judgement)."""
        catalog = self.registry.catalog
        for index in catalog.list_indexes():
            with self._lock:  # a route setting a canary begins its run under the same lock
                canary = self.registry.canary(index)
                run = self.runs.active(index)
                if canary is None:
                    if run is not None:
                        self.runs.finish(run.id, "ended", "the canary was removed or promoted by other means")
                    continue
                if run is None or not run.judges(canary.release, canary.version):
                    run = self.runs.start(
                        index, canary.version, self.defaults, self._set_at(canary), release=canary.release, adopt=True
                    )
            turn = self._judged.get(run.id, float("-inf")) + JUDGE_EVERY_S
            if judge_all or turn <= time.monotonic():
                self.check(run)
            else:
                self._due[run.id] = (turn, run)

    def _set_at(self, canary: Canary) -> datetime | None:
        events = [e for e in self.registry.catalog.alias_history(canary.alias) if e.action == CANARY_ACTION]
        return events[-1].at if events else None

    def check(self, run: Run) -> Verdict:
        """Judge ``run`` now and act on the verdict (see the module docstring)."""
        with self._lock:
            self._judged[run.id] = time.monotonic()
            verdict = judge(run, self.runs.tallies(run.id), self.runs.latencies(run.id), self._clock())
            if verdict.state == "worse":
                self._roll_back(run, verdict)
            elif verdict.state == "passed" and run.policy.auto_promote:
                self._promote(run, verdict)
            elif verdict.state == "passed" and run.state == "running":
                self._mark_ready(run, verdict)
            return verdict

    def _roll_back(self, run: Run, verdict: Verdict) -> None:
        # The canary goes first (a second process finds it gone and records nothing), so a reader that
        # sees the run rolled back never still finds the canary; the run's state change picks the one
        # process that announces the decision.
        canary = self.registry.canary(run.index)
        if canary is not None and not run.judges(canary.release, canary.version):
            self._replaced(run)  # another release is the canary now: it has its own run
            return
        if canary is not None:
            self.registry.remove_canary(
                run.index, action=CANARY_ROLLED_BACK_ACTION, actor=ACTOR.name, reason=verdict.reason
            )
        if self.runs.finish(run.id, "rolled_back", verdict.reason, deciding_answer_at=verdict.deciding_answer_at):
            self._announce("canary.rollback", "canary.rolled_back", run, verdict, "ok")

    def _replaced(self, run: Run) -> None:
        """End ``run``: the canary is another release now (set by another process; its run is adopted)."""
        self.runs.finish(run.id, "replaced", "another release became the canary")

    def _promote(self, run: Run, verdict: Verdict) -> None:
        canary = self.registry.canary(run.index)
        if canary is None:  # removed (or promoted) by other means since: nothing left to promote
            self.runs.finish(run.id, "ended", "the canary was removed or promoted by other means")
            return
        if not run.judges(canary.release, canary.version):
            self._replaced(run)  # never promote a release this run did not judge
            return
        # only from running: a run left ready by a failed automatic promotion waits for a person (no retry
        # at every judgement, each with its audit entry and webhook)
        # claimed as "promoting" first (one process acts); "promoted" only once the alias has moved, so a
        # reader that sees the run promoted never still finds the canary
        if not self.runs.finish(
            run.id, "promoting", verdict.reason, from_states=("running",), deciding_answer_at=verdict.deciding_answer_at
        ):
            return
        try:
            release = run.release if run.release is not None else canary.release
            if release is not None:
                # the canary is a release: it goes live as it was tested (prompt and model included)
                self.registry.promote_release(run.index, release, actor=ACTOR.name, reason=verdict.reason)
            else:
                self.registry.promote(run.index, run.version, actor=ACTOR.name, reason=verdict.reason)
        except RagError as exc:
            reason = f"automatic promotion failed ({exc.code}: {exc.message}); {verdict.reason}"
            self.runs.finish(
                run.id, "ready", reason, from_states=("promoting",), deciding_answer_at=verdict.deciding_answer_at
            )
            self._announce("canary.promote", "canary.promote_failed", run, verdict, exc.code, reason)
            return
        decided_by = verdict.deciding_answer_at
        self.runs.finish(run.id, "promoted", verdict.reason, from_states=("promoting",), deciding_answer_at=decided_by)
        self._announce("canary.promote", "canary.promoted", run, verdict, "ok")

    def _mark_ready(self, run: Run, verdict: Verdict) -> None:
        if not self.runs.finish(
            run.id, "ready", verdict.reason, from_states=("running",), deciding_answer_at=verdict.deciding_answer_at
        ):
            return
        canary = self.registry.canary(run.index)
        if canary is not None and run.judges(canary.release, canary.version):
            self.registry.canaries.note(canary, CANARY_READY_ACTION, ACTOR.name, verdict.reason)
        self._announce("canary.ready", "canary.ready", run, verdict, "ok")

    def _announce(
        self, action: str, event: str, run: Run, verdict: Verdict, outcome: str, reason: str | None = None
    ) -> None:
        """The decision in the audit log and on the webhook."""
        why = reason or verdict.reason
        details: dict[str, Any] = {
            "reason": why,
            "run": run.id,
            "release": run.release,
            "verdict": verdict.state,
            "worse": [c.metric for c in verdict.comparisons if c.worse],
        }
        self.audit.record(ACTOR, action, outcome, index=run.index, target=f"v{run.version}", details=details)
        if self.webhook is not None:
            payload = {
                "index": run.index,
                "canary_version": run.version,
                "canary_release": run.release,
                "live_version": self.registry.live_version(run.index),
                "run": run.id,
                "reason": why,
                "decided_at": self._clock().isoformat(),
                "deciding_answer_at": verdict.deciding_answer_at.isoformat() if verdict.deciding_answer_at else None,
                "policy": run.policy.model_dump(),
                "comparisons": [
                    {
                        "metric": c.metric,
                        "live": c.live,
                        "canary": c.canary,
                        "difference": c.difference,
                        "allowed": c.allowed,
                        "p_value": c.p_value,
                        "worse": c.worse,
                    }
                    for c in verdict.comparisons
                ],
            }
            self.webhook.send(event, payload)

    def close(self) -> None:
        """Stop the thread, finish the webhook's delivery in hand and release the runs' database."""
        self.stop()
        if self.webhook is not None:
            self.webhook.close()
        self.runs.close()
