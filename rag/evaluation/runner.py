"""Runs an evaluation set's queries through the retrieval path of ``/v1/ask`` and scores them.

Guarantees: every query is searched with :meth:`rag.retrieval.Retriever.search` (the version's own
embedder, BM25 settings, fusion and reranker, as a question to the API would be); metrics are the
pure functions of :mod:`rag.evaluation.metrics` (BEIR / pytrec_eval definitions), averaged over
the judged queries; the same version, data and settings give the same scores.

BEIR sets are scored over documents (a document ranks at its best chunk); spans sets over chunks
(a chunk is relevant when it overlaps a gold span; the ideal ranking holds every relevant chunk of
the version).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from indexes.types import SearchHit
from indexes.versions import ResolvedVersion
from rag.evaluation.datasets import EvalDataset, EvalQuery
from rag.evaluation.metrics import documents_in_rank_order, mean, ndcg_at_k, recall_at_k, reciprocal_rank_at_k
from rag.retrieval import Retriever

__all__ = ["EvalResult", "evaluate", "percentile"]

RECALL_KS = (1, 5, 10, 100)
ProgressFn = Callable[[int, int], None]


class EvalResult(BaseModel):
    """One evaluation run: what was evaluated, how, and the scores."""

    dataset: dict[str, Any] = Field(description="name, layout, sha256, queries, unjudged")
    version: dict[str, Any] = Field(description="index, version, embedder, chunker, chunks, documents")
    retrieval: dict[str, Any] = Field(description="mode, fusion, rrf_k, prefetch_limit, reranker, chunks fetched")
    metrics: dict[str, float] = Field(description="recall@1/5/10/100, mrr@10, ndcg@10 (means over queries)")
    refusal_rate: float = Field(description="Share of queries whose best similarity is below the refusal threshold.")
    refusal_threshold: float
    latency_ms: dict[str, float] = Field(description="p50 and p95 of one search (embedding the query included)")
    per_query: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """A short name of the run: ``index@version mode/fusion``."""
        r = self.retrieval
        fusion = f"/{r['fusion']}" if r["mode"] == "hybrid" else ""
        rerank = " +rerank" if r.get("reranker") else ""
        return f"{self.version['index']}@{self.version['version']} {r['mode']}{fusion}{rerank}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _chunk_ranges(retriever: Retriever, version: ResolvedVersion) -> dict[str, list[tuple[str, int, int]]]:
    ranges: dict[str, list[tuple[str, int, int]]] = {}
    for point in retriever.engine.iter_points(version.index, version.version):
        c = point.chunk
        ranges.setdefault(c.doc_id, []).append((c.chunk_id, c.start, c.end))
    return ranges


def _relevant_chunks(query: EvalQuery, ranges: dict[str, list[tuple[str, int, int]]]) -> set[str]:
    return {
        chunk_id
        for span in query.spans
        for chunk_id, start, end in ranges.get(span.doc_id, [])
        if start < span.end and span.start < end
    }


def evaluate(
    retriever: Retriever,
    version: ResolvedVersion,
    dataset: EvalDataset,
    *,
    refusal_threshold: float,
    progress: ProgressFn | None = None,
    keep_per_query: bool = False,
) -> EvalResult:
    """Score ``dataset``'s queries against ``version`` with ``retriever``'s settings."""
    manifest = version.manifest
    docs = max(1, len(manifest.documents))
    top = max(RECALL_KS)
    # BEIR scores documents: fetch enough chunks for ``top`` distinct ones
    limit = min(2000, math.ceil(top * manifest.chunk_count / docs * 1.5)) if dataset.layout == "beir" else top
    ranges = _chunk_ranges(retriever, version) if dataset.layout == "spans" else {}
    scores: dict[str, list[float]] = {f"recall@{k}": [] for k in RECALL_KS}
    scores.update({"mrr@10": [], "ndcg@10": []})
    latencies: list[float] = []
    refused = 0
    per_query: list[dict[str, Any]] = []
    judged = 0
    for i, query in enumerate(dataset.queries, start=1):
        started = time.perf_counter()
        hits = retriever.search(version, query.text, limit, doc_ids=[query.restrict_to] if query.restrict_to else None)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked, relevant = _judge(query, hits, dataset, ranges)
        best = max((h.similarity for h in hits), default=-1.0)
        refused += best < refusal_threshold
        if progress is not None:
            progress(i, len(dataset.queries))
        if not relevant:
            continue  # e.g. a span the version holds no chunk for: nothing to find
        judged += 1
        for k in RECALL_KS:
            scores[f"recall@{k}"].append(recall_at_k(ranked, relevant, k))
        scores["mrr@10"].append(reciprocal_rank_at_k(ranked, relevant, 10))
        scores["ndcg@10"].append(ndcg_at_k(ranked, relevant, 10))
        if keep_per_query:
            per_query.append(
                {
                    "id": query.id,
                    "ndcg@10": round(scores["ndcg@10"][-1], 4),
                    "recall@10": round(scores["recall@10"][-1], 4),
                    "best_similarity": round(best, 4),
                    "top": ranked[:10],
                }
            )
    if not judged:
        raise ValueError(f"no query of {dataset.name} has a relevant chunk in {version.index} v{version.version}")
    return EvalResult(
        dataset={
            "name": dataset.name,
            "layout": dataset.layout,
            "sha256": dataset.sha256,
            "queries": judged,
            "unjudged": dataset.unjudged + len(dataset.queries) - judged,
        },
        version={
            "index": version.index,
            "version": version.version,
            "embedder": manifest.embedder.model_id,
            "chunker": manifest.chunker.model_dump(),
            "chunks": manifest.chunk_count,
            "documents": len(manifest.documents),
        },
        retrieval={**retriever.describe(), "chunks_fetched": limit},
        metrics={name: round(mean(values), 4) for name, values in scores.items()},
        refusal_rate=round(refused / len(dataset.queries), 4),
        refusal_threshold=refusal_threshold,
        latency_ms={"p50": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2)},
        per_query=per_query,
    )


def _judge(
    query: EvalQuery, hits: list[SearchHit], dataset: EvalDataset, ranges: dict[str, list[tuple[str, int, int]]]
) -> tuple[list[str], dict[str, float] | set[str]]:
    """(ranked ids, relevant ids) in the unit the layout scores: documents for BEIR, chunks for spans."""
    if dataset.layout == "beir":
        return documents_in_rank_order(hits, match="doc_id"), query.relevant_docs
    return [h.chunk.chunk_id for h in hits], _relevant_chunks(query, ranges)
