"""Scores answers on a spans data set: does a cited quote contain the gold answer span?

Every query goes through the assistant's own steps (retrieval restricted as the data set says,
the refusal threshold, the prompt, the answerer, the citation check), so the figure describes
what ``/v1/ask`` would have cited.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from indexes.versions import ResolvedVersion
from rag.answering.base import Evidence
from rag.assistant import Assistant, render_sources
from rag.citations import Citation, check_citations
from rag.evaluation.datasets import EvalDataset, GoldSpan

__all__ = ["AnswerSpanResult", "score_answer_spans"]


class AnswerSpanResult(BaseModel):
    """Shares over all queries (refused ones count as misses)."""

    queries: int
    refused: int
    span_inside_quote: float
    """A gold span lies entirely inside one cited quote."""
    span_overlaps_quote: float
    """A gold span and a cited quote share at least one character."""
    mean_quote_chars: float


def _quote_ranges(citations: list[Citation]) -> list[tuple[str, int, int]]:
    """(doc id, start, end) of every cited quote in its document's text."""
    ranges = []
    for c in citations:
        chunk = c.hit.chunk
        at = chunk.text.find(c.quote)
        if at >= 0:
            ranges.append((chunk.doc_id, chunk.start + at, chunk.start + at + len(c.quote)))
    return ranges


def _inside(span: GoldSpan, ranges: list[tuple[str, int, int]]) -> bool:
    return any(doc == span.doc_id and lo <= span.start and span.end <= hi for doc, lo, hi in ranges)


def _overlaps(span: GoldSpan, ranges: list[tuple[str, int, int]]) -> bool:
    return any(doc == span.doc_id and lo < span.end and span.start < hi for doc, lo, hi in ranges)


def score_answer_spans(
    assistant: Assistant,
    version: ResolvedVersion,
    dataset: EvalDataset,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> AnswerSpanResult:
    """Answer every query of a spans data set and check the cited quotes against the gold spans."""
    if dataset.layout != "spans":
        raise ValueError("answer spans can only be scored on a spans data set")
    inside = overlaps = refused = 0
    quote_chars: list[int] = []
    for i, query in enumerate(dataset.queries, start=1):
        hits = assistant.retriever.search(
            version, query.text, assistant.top_k, doc_ids=[query.restrict_to] if query.restrict_to else None
        )
        if not hits or max(h.similarity for h in hits) < assistant.refusal_threshold:
            refused += 1
        else:
            rendered = assistant.prompt.render(sources=render_sources(hits), question=query.text)
            checked = check_citations(
                assistant.answerer.answer(Evidence(question=query.text, hits=hits), rendered), hits
            )
            ranges = _quote_ranges(checked.citations)
            quote_chars.extend(hi - lo for _, lo, hi in ranges)
            inside += any(_inside(s, ranges) for s in query.spans)
            overlaps += any(_overlaps(s, ranges) for s in query.spans)
        if progress is not None:
            progress(i, len(dataset.queries))
    n = len(dataset.queries)
    return AnswerSpanResult(
        queries=n,
        refused=refused,
        span_inside_quote=round(inside / n, 4),
        span_overlaps_quote=round(overlaps / n, 4),
        mean_quote_chars=round(sum(quote_chars) / len(quote_chars), 1) if quote_chars else 0.0,
    )
