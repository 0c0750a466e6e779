"""Checks a model's answer sentence by sentence against the sources each sentence cites.

A sentence is *supported* when it cites at least one source, every figure it states (numbers,
amounts, durations, dates; see :mod:`rag.answering.figures`) occurs in one of the sources it
cites, and enough of its content words occur there too (``min_overlap``). Anything else is
flagged with the reasons, so a reader sees which sentence to distrust and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ingest.sparse import SparseEncoder
from rag.answering.figures import figures
from rag.answering.markers import MARKER, find_markers
from rag.sentences import split_sentences

__all__ = [
    "FIGURE_NOT_IN_SOURCE",
    "NO_CITATION",
    "WORDS_NOT_IN_SOURCE",
    "GroundingReport",
    "SentenceCheck",
    "check_grounding",
    "content_terms",
]

NO_CITATION = "no_citation"
"""The sentence cites no source (or only sources that were not retrieved)."""
FIGURE_NOT_IN_SOURCE = "figure_not_in_source"
"""A figure of the sentence occurs in none of the sources it cites."""
WORDS_NOT_IN_SOURCE = "words_not_in_source"
"""Too few of the sentence's content words occur in the sources it cites."""

_DIGITS = re.compile(r"\d+")
_MIN_TERMS = 2
"""A sentence with fewer content words ("Yes [1].") is too short to compare; its citation still counts."""
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\])+")


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """One answer sentence: the sources it cites, what it states, and why it is flagged (if it is)."""

    text: str
    cited: list[int]
    figures: list[str]
    missing_figures: list[str]
    overlap: float
    problems: list[str]

    @property
    def supported(self) -> bool:
        """True when nothing was found wrong with the sentence."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class GroundingReport:
    """Every sentence of an answer, checked; ``grounded`` when each one is supported."""

    sentences: list[SentenceCheck]

    @property
    def grounded(self) -> bool:
        return all(s.supported for s in self.sentences)

    @property
    def flagged(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if not s.supported]


@lru_cache(maxsize=1)
def _encoder() -> SparseEncoder:
    return SparseEncoder()


@lru_cache(maxsize=4096)
def content_terms(text: str) -> frozenset[int]:
    """The content words of ``text`` as Qdrant's BM25 terms (stemmed, stopwords out), digits left out.

    The same tokenizer and stemmer the index uses for sparse search, so "approvals" and
    "approved" meet; figures are compared separately (:mod:`rag.answering.figures`).
    """
    return frozenset(_encoder().encode_query(_DIGITS.sub(" ", text)).indices)


def _sentences(text: str) -> list[str]:
    """The answer's sentences, each with the markers written right after its full stop."""
    out: list[str] = []
    for piece in split_sentences(text):
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            out.append(piece)
    return out


def check_grounding(answer: str, sources: Mapping[int, str], *, min_overlap: float = 0.5) -> GroundingReport:
    """Check every sentence of ``answer`` against the texts of the sources it cites.

    ``sources`` maps a marker number to the text a reader sees for it (the chunk, with its title
    and headings). A marker naming no entry of ``sources`` counts as no citation. Guarantees: a
    sentence without a usable citation is flagged ``no_citation``; a sentence stating a figure
    that occurs in none of its cited sources is flagged ``figure_not_in_source`` (and lists it in
    ``missing_figures``); a sentence whose content words occur in its cited sources less than
    ``min_overlap`` of the time is flagged ``words_not_in_source`` (a sentence of one content
    word, such as "Yes [1].", is not compared). A sentence made only of markers adds nothing and
    is not reported.
    """
    checks: list[SentenceCheck] = []
    for sentence in _sentences(answer):
        plain = MARKER.sub(" ", sentence).strip()
        if not plain:
            continue
        cited = [n for n in find_markers(sentence) if n in sources]
        stated = figures(plain)
        problems: list[str] = []
        if not cited:
            checks.append(SentenceCheck(sentence, [], stated, stated, 0.0, [NO_CITATION]))
            continue
        source_text = "\n".join(sources[n] for n in cited)
        known = set(figures(source_text))
        missing = [f for f in stated if f not in known]
        if missing:
            problems.append(FIGURE_NOT_IN_SOURCE)
        terms = content_terms(plain)
        overlap = len(terms & content_terms(source_text)) / len(terms) if len(terms) >= _MIN_TERMS else 1.0
        if overlap < min_overlap:
            problems.append(WORDS_NOT_IN_SOURCE)
        checks.append(SentenceCheck(sentence, cited, stated, missing, round(overlap, 3), problems))
    return GroundingReport(checks)
