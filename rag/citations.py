"""Checking an answer's citations against what was retrieved: unknown ones are dropped and counted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexes.types import SearchHit
from rag.answering.base import Draft
from rag.answering.markers import MARKER, find_markers, keep_markers
from rag.sentences import split_sentences

__all__ = ["CheckedAnswer", "Citation", "best_quote", "check_citations"]

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Citation:
    """A checked citation: marker ``n`` names ``hit``; ``quote`` occurs verbatim in the hit's text."""

    n: int
    hit: SearchHit
    quote: str


@dataclass(frozen=True, slots=True)
class CheckedAnswer:
    """Answer text whose every marker names a retrieved chunk, its citations, and how many were dropped."""

    text: str
    citations: list[Citation]
    dropped: int


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def best_quote(chunk_text: str, context: str) -> str:
    """The sentence of ``chunk_text`` sharing most words with ``context`` (verbatim from the chunk)."""
    sentences = split_sentences(chunk_text)
    if not sentences:
        return chunk_text.strip()[:300]
    target = _words(context)
    return max(sentences, key=lambda s: (len(_words(s) & target), -abs(len(s) - 160)))


def _context_of(text: str, n: int) -> str:
    """The answer sentence(s) carrying marker ``n`` (what the citation supports)."""
    parts = [s for s in re.split(r"(?<=[.!?])\s+", text) if n in find_markers(s)]
    return MARKER.sub("", " ".join(parts)) or text


def check_citations(draft: Draft, hits: list[SearchHit]) -> CheckedAnswer:
    """Keep the citations that name one of ``hits`` (1-based), drop and count the rest.

    Guarantees: every marker left in the text names a returned citation; every quote occurs
    verbatim in its chunk's text.
    """
    valid = set(range(1, len(hits) + 1))
    numbers = find_markers(draft.text)
    quotes = {c.n: c.quote for c in draft.citations if c.quote}
    claimed = list(dict.fromkeys([*numbers, *(c.n for c in draft.citations)]))
    dropped = sum(1 for n in claimed if n not in valid)
    text = keep_markers(draft.text, valid)
    citations: list[Citation] = []
    for n in claimed:
        if n not in valid:
            continue
        hit = hits[n - 1]
        quote = quotes.get(n)
        if not quote or quote not in hit.chunk.text:
            quote = best_quote(hit.chunk.text, _context_of(draft.text, n))
        citations.append(Citation(n=n, hit=hit, quote=quote))
    return CheckedAnswer(text=text, citations=citations, dropped=dropped)
