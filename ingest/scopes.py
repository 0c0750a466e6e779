"""Scope markers: the words that name one part of a corpus, learnt from the documents at build time.

An index can hold several organisations' or departments' documents side by side, one top-level
folder each (``18f/...``, ``sourcegraph/...``). Words such as an organisation's name, its
acronyms or its own tools occur in many documents of one folder and (almost) never in the others.
A question that uses such words is about that part of the corpus ("How do I book travel at
TTS?"), and the answer must come from it; inside that part the same words say nothing about which
passage answers (every page mentions the organisation), so answer selection ignores them.

A term is a marker of folder F when it occurs in at least ``min_documents`` documents, at least
``min_share`` of F's documents, and at least ``concentration`` of the documents holding it are
in F. A marker is *pervasive* when it is in at least ``pervasive_share`` of F's documents (the
organisation's name, its acronym): only those are dropped from a question's focus, since a
narrower marker ("Tock", a tool of one organisation) still says which passage answers. Terms are
the BM25 term ids of :class:`ingest.sparse.SparseEncoder` (stemmed, stop words
removed), so markers are stored as numbers, never as text. A corpus with fewer than two folders
has no markers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TypedDict

from ingest.sparse import SparseEncoder

__all__ = ["ScopeTerms", "group_of", "scope_markers"]


class ScopeTerms(TypedDict):
    """The terms of one folder: ``markers`` name it, ``pervasive`` (a subset) are in most of its documents."""

    markers: list[int]
    pervasive: list[int]


def group_of(source: str) -> str | None:
    """The top-level folder of a document's source path (``18f/pages/x.md`` -> ``18f``), or None."""
    head, sep, _ = source.strip("/").partition("/")
    return head if sep and head else None


def scope_markers(
    documents: Iterable[tuple[str, str]],
    encoder: SparseEncoder,
    *,
    min_documents: int = 5,
    min_share: float = 0.05,
    concentration: float = 0.9,
    pervasive_share: float = 0.3,
) -> dict[str, ScopeTerms]:
    """``{folder: sorted marker and pervasive term ids}`` of ``(source, text)`` documents (see the
    module's docstring).

    Guarantees: every marker satisfies the three thresholds, every pervasive term is a marker in at
    least ``pervasive_share`` of its folder's documents; folders without markers are left out; with
    fewer than two folders the result is empty.
    """
    doc_freq: defaultdict[int, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    for source, text in documents:
        group = group_of(source)
        if group is None:
            continue
        sizes[group] += 1
        for term in set(encoder.encode_query(text).indices):
            doc_freq[term][group] += 1
    if len(sizes) < 2:
        return {}
    markers: defaultdict[str, list[int]] = defaultdict(list)
    pervasive: defaultdict[str, list[int]] = defaultdict(list)
    for term, by_group in doc_freq.items():
        total = sum(by_group.values())
        group, count = by_group.most_common(1)[0]
        if total >= min_documents and count >= min_share * sizes[group] and count / total >= concentration:
            markers[group].append(term)
            if count >= pervasive_share * sizes[group]:
                pervasive[group].append(term)
    return {
        group: ScopeTerms(markers=sorted(terms), pervasive=sorted(pervasive[group]))
        for group, terms in sorted(markers.items())
    }
