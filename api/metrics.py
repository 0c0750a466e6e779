"""Prometheus metrics of one app: request latency per route, answers, and builds and jobs.

The canary watcher's own cost (its thread's busy and CPU time) is read from the watcher when scraped.

Each app owns its own registry (two apps in one process never share counters). Answer metrics
are observed from the answer records; build and job metrics are read from the metadata database
when scraped, so they count the builds of every worker process, not only this one's.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from indexes.catalog import VersionState
from rag.records import AnswerRecord
from rag.wiring import Services

__all__ = ["BUILD_BUCKETS", "BuildCollector", "CanaryWatchCollector", "Metrics"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BUILD_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class Metrics:
    """The app's metrics and the registry ``/metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram(
            "rag_http_request_duration_seconds",
            "HTTP request latency by route template (unmatched paths are route='<unmatched>').",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.retrieval = Histogram(
            "rag_retrieval_duration_seconds", "Hybrid search latency per question.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.model = Histogram(
            "rag_model_duration_seconds",
            "Answer generation latency (refusals call no model and are not observed).",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queries = Counter(
            "rag_queries",
            "Answered questions per index version; via is live, canary or pinned.",
            ["index", "version", "via"],
            registry=r,
        )
        self.refusals = Counter("rag_refusals", "Questions refused as not covered.", ["index"], registry=r)
        self.citations_dropped = Counter(
            "rag_citations_dropped", "Citations a model made that named no retrieved chunk.", ["index"], registry=r
        )
        self.unsupported = Counter(
            "rag_unsupported_sentences",
            "Sentences of model answers their cited sources do not support (flagged or withheld).",
            ["index", "problem"],
            registry=r,
        )

    def observe_answer(self, record: AnswerRecord) -> None:
        """Count one recorded answer: its version, refusal, dropped citations and timings."""
        index = record.index
        alias = index.alias
        via = "pinned" if alias is None else ("canary" if alias.endswith(":canary") else "live")
        self.queries.labels(index.name, str(index.version), via).inc()
        self.retrieval.observe(record.timings_ms.get("retrieve", 0.0) / 1000)
        if record.refused:
            self.refusals.labels(index.name).inc()
        else:
            self.model.labels(record.model.provider, record.model.name).observe(
                record.timings_ms.get("generate", 0.0) / 1000
            )
        if record.citations_dropped:
            self.citations_dropped.labels(index.name).inc(record.citations_dropped)
        for sentence in record.support:
            for problem in sentence.problems:
                self.unsupported.labels(index.name, problem).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One finished HTTP request."""
        self.requests.labels(method, route, str(status)).observe(seconds)


class BuildCollector(Collector):
    """Build durations, chunks embedded vs reused (from the manifests of built versions) and the
    job queue's depth (from the job records), read from the metadata database at each scrape."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def describe(self) -> list[Metric]:
        return []  # nothing is read at registration time

    def collect(self) -> Iterator[Metric]:
        catalog = self._services.catalog
        durations = HistogramMetricFamily(
            "rag_build_duration_seconds", "Wall time of each finished build, by index.", labels=["index"]
        )
        chunks = CounterMetricFamily(
            "rag_build_chunks",
            "Chunks written by builds: embedded anew or reused from the parent.",
            labels=["index", "kind"],
        )
        for index in catalog.list_indexes():
            seconds: list[float] = []
            embedded = reused = 0
            for v in catalog.list_versions(index):
                m = v.manifest
                if m is None or v.state not in (VersionState.READY, VersionState.DROPPED):
                    continue
                seconds.append(m.timings_ms.get("total", 0.0) / 1000)
                embedded += m.chunks_embedded
                reused += m.chunks_reused
            buckets = [(str(b), float(sum(1 for s in seconds if s <= b))) for b in BUILD_BUCKETS]
            buckets.append(("+Inf", float(len(seconds))))
            durations.add_metric([index], buckets, sum(seconds))
            chunks.add_metric([index, "embedded"], float(embedded))
            chunks.add_metric([index, "reused"], float(reused))
        yield durations
        yield chunks
        jobs = self._services.jobs
        if jobs is not None:
            depth = GaugeMetricFamily("rag_jobs", "Build jobs waiting (queued) or in hand (running).", labels=["state"])
            depth.add_metric(["queued"], float(len(jobs.store.queued_ids())))
            depth.add_metric(["running"], float(len(jobs.store.running())))
            yield depth


class CanaryWatchCollector(Collector):
    """The canary watcher's cost since it started (:class:`rag.canary.watch.WatchCost`), at each scrape:
    what the analysis takes from the process that answers (zero while the analysis is off)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        cost = self._services.canary.cost
        yield CounterMetricFamily(
            "rag_canary_watch_busy_seconds",
            "Wall time the canary watcher spent on batches (writes and judgements), the most it can delay answers.",
            value=cost.busy_s,
        )
        yield CounterMetricFamily(
            "rag_canary_watch_cpu_seconds", "CPU time of the canary watcher's thread on batches.", value=cost.cpu_s
        )
        yield CounterMetricFamily(
            "rag_canary_watch_observations", "Answers the canary watcher was told of.", value=float(cost.observations)
        )
        yield CounterMetricFamily(
            "rag_canary_watch_batches", "Batches the canary watcher handled.", value=float(cost.batches)
        )
        yield GaugeMetricFamily(
            "rag_canary_watch_longest_batch_seconds",
            "The longest batch the watcher handled.",
            value=cost.longest_batch_s,
        )
