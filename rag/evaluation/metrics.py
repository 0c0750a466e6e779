"""Ranking metrics over document ids, as pure functions (the BEIR / pytrec_eval definitions).

A ranked list is a sequence of document ids, best first. Every metric counts a document once,
at its best rank: a ranked list is deduplicated by first occurrence before it is cut at ``k``, so
``top-k`` always means the first ``k`` *distinct* documents. :func:`documents_in_rank_order` turns
retrieved chunks into such a list.

A query with no relevant document scores 0.0 on every metric (as in trec_eval); callers that
average over queries should not feed such queries in (the golden set loader refuses them).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Literal

from indexes.types import SearchHit

__all__ = [
    "Match",
    "Relevance",
    "dedupe",
    "documents_in_rank_order",
    "hit_at_k",
    "mean",
    "ndcg_at_k",
    "recall_at_k",
    "reciprocal_rank_at_k",
]

Match = Literal["source", "doc_id"]
"""Which chunk field names its document: ``source`` (path relative to the source folder) or ``doc_id``."""

Relevance = Mapping[str, float] | Collection[str]
"""Relevant documents: a mapping of id to grade (graded), or a collection of ids (all grade 1)."""


def dedupe(ids: Iterable[str]) -> list[str]:
    """``ids`` in order with every repeat removed: each id is kept at its first (best) position."""
    return list(dict.fromkeys(ids))


def documents_in_rank_order(hits: Iterable[SearchHit], match: Match = "source") -> list[str]:
    """The documents of ranked chunk hits, best first, each once at the rank of its best chunk.

    ``match`` picks the chunk field that names the document (``source`` or ``doc_id``).
    """
    if match == "source":
        return dedupe(hit.chunk.source for hit in hits)
    if match == "doc_id":
        return dedupe(hit.chunk.doc_id for hit in hits)
    raise ValueError(f"match must be 'source' or 'doc_id', not {match!r}")


def _top(ranked: Sequence[str], k: int) -> list[str]:
    if isinstance(ranked, str):
        raise TypeError("ranked must be a sequence of document ids, not a string")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    return dedupe(ranked)[:k]


def _relevant(relevant: Relevance) -> set[str]:
    """The ids of the relevant documents; in a graded mapping, those with a positive grade."""
    if isinstance(relevant, str):
        raise TypeError("relevant must be a collection of document ids, not a string")
    if isinstance(relevant, Mapping):
        return {doc for doc, grade in _grades(relevant).items() if grade > 0.0}
    return set(relevant)


def recall_at_k(ranked_ids: Sequence[str], relevant_ids: Relevance, k: int) -> float:
    """``|relevant ∩ top-k| / |relevant|``: the share of the relevant documents found in the top ``k``.

    1.0 only when every relevant document is in the top ``k``; 0.0 when there is none to find.
    A ``k`` beyond the list's length means the whole list. In a graded mapping, the documents with
    a positive grade are the relevant ones (as for every binary metric here).
    """
    top = _top(ranked_ids, k)
    relevant = _relevant(relevant_ids)
    if not relevant:
        return 0.0
    return len(relevant.intersection(top)) / len(relevant)


def hit_at_k(ranked_ids: Sequence[str], relevant_ids: Relevance, k: int) -> float:
    """1.0 when at least one relevant document is in the top ``k``, else 0.0 (success@k; its mean is hit rate)."""
    top = _top(ranked_ids, k)
    relevant = _relevant(relevant_ids)
    return 1.0 if relevant.intersection(top) else 0.0


def reciprocal_rank_at_k(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    """``1 / rank`` of the first relevant document within the top ``k`` (ranks start at 1), else 0.0.

    The mean over queries is MRR@k.
    """
    wanted = _relevant(relevant)
    for rank, doc in enumerate(_top(ranked, k), start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def _grades(relevant: Relevance) -> dict[str, float]:
    if isinstance(relevant, Mapping):
        grades = {str(doc): float(grade) for doc, grade in relevant.items()}
        negative = sorted(doc for doc, grade in grades.items() if not grade >= 0.0)
        if negative:
            raise ValueError(f"relevance grades must be >= 0; not so for {', '.join(negative)}")
        return grades
    return dict.fromkeys(relevant, 1.0)


def ndcg_at_k(ranked: Sequence[str], relevant_with_grades: Relevance, k: int) -> float:
    """Normalized discounted cumulative gain at ``k`` (the pytrec_eval ``ndcg_cut`` definition).

    ``DCG@k = sum(grade(d_i) / log2(i + 1))`` over ranks ``i = 1..k``, with linear gain (the grade);
    a collection of ids means grade 1 each, a mapping gives graded relevance (grade 0 is not
    relevant, negative grades are an error). The ideal DCG ranks the relevant documents by grade.
    The result lies in [0, 1]; 0.0 when no document has a positive grade.
    """
    top = _top(ranked, k)
    if isinstance(relevant_with_grades, str):
        raise TypeError("relevant_with_grades must be a collection or mapping of document ids, not a string")
    grades = _grades(relevant_with_grades)
    dcg = math.fsum(grades.get(doc, 0.0) / math.log2(rank + 1) for rank, doc in enumerate(top, start=1))
    ideal = sorted((g for g in grades.values() if g > 0.0), reverse=True)[:k]
    idcg = math.fsum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0.0 else 0.0


def mean(values: Iterable[float]) -> float:
    """The arithmetic mean, exactly rounded (``math.fsum``), so it never depends on summation order.

    Raises ``ValueError`` for no values: a mean over nothing is not a score.
    """
    items = [float(v) for v in values]
    if not items:
        raise ValueError("mean of no values")
    return math.fsum(items) / len(items)
