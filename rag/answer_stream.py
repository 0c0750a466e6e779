"""The events of a streamed answer, and the helpers that keep streamed text honest about citations.

A stream is ``Delta`` pieces of answer text, then one ``Citations`` event, then one ``Final``
event carrying the full :class:`~rag.records.AnswerRecord` (which is authoritative: its text is
the deltas joined, with the citation checker's whitespace tidying applied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answering.base import Draft, DraftCitation
from rag.answering.markers import MARKER, find_markers
from rag.records import AnswerRecord, CitationOut

__all__ = ["Citations", "Delta", "Final", "MarkerFilter", "StreamEvent", "draft_from_text"]

_NUMBER = re.compile(r"\d+")
_HOLD_LIMIT = 24
"""Longest unclosed ``[...`` tail held back while waiting for its ``]`` (longer: not a marker)."""


@dataclass(frozen=True, slots=True)
class Delta:
    """The next piece of the answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class Citations:
    """The checked citations of the answer (after the last delta)."""

    citations: list[CitationOut]


@dataclass(frozen=True, slots=True)
class Final:
    """The recorded answer (the last event)."""

    record: AnswerRecord


StreamEvent = Delta | Citations | Final


class MarkerFilter:
    """Removes ``[n]`` markers naming no piece of evidence from text that arrives in pieces.

    Text after an unclosed ``[`` is held back (up to a short limit) until its ``]`` arrives, so a
    marker split across pieces is judged whole. Guarantee: every marker in the text this filter
    returns names a number in ``valid``; other text passes through unchanged and in order.
    """

    def __init__(self, valid: set[int]) -> None:
        self._valid = valid
        self._held = ""

    def _clean(self, text: str) -> str:
        def fix(match: re.Match[str]) -> str:
            kept = [n for n in _NUMBER.findall(match.group(1)) if int(n) in self._valid]
            return "[" + ", ".join(kept) + "]" if kept else ""

        return MARKER.sub(fix, text)

    def feed(self, piece: str) -> str:
        """Take the next piece; return the text that is safe to show now (may be empty)."""
        text = self._held + piece
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut <= _HOLD_LIMIT:
            text, self._held = text[:cut], text[cut:]
        else:
            self._held = ""
        return self._clean(text)

    def flush(self) -> str:
        """The text still held back, at the end of the stream."""
        text, self._held = self._held, ""
        return self._clean(text)


def draft_from_text(text: str) -> Draft:
    """A draft of streamed text: its markers, each quoting the text between it and the previous marker.

    A number cited twice keeps the quote of its last occurrence (as the extractive answerer's
    own drafts do). The quote is only a proposal: the citation checker keeps it when it occurs
    verbatim in the cited chunk and otherwise picks the chunk's best sentence, exactly as for an
    answer given in one piece.
    """
    quotes: dict[int, str | None] = {}
    start = 0
    for match in MARKER.finditer(text):
        quote = text[start : match.start()].strip() or None
        start = match.end()
        for n in find_markers(match.group(0)):
            quotes[n] = quote if quote is not None else quotes.get(n)
    return Draft(text=text, citations=[DraftCitation(n=n, quote=q) for n, q in quotes.items()])
