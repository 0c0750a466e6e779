"""Sentence splitting that follows paragraphs, not lines, and keeps every sentence verbatim.

Handbooks hard-wrap their Markdown: one sentence runs over several lines. A line break inside a
paragraph is therefore not a boundary; a blank line, a list item, a heading, a table row or a
block quote starts a new block. Sentences are found inside each block with Punkt, and every
sentence returned is a verbatim substring of the text (it may hold the paragraph's line breaks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Sentence", "sentence_spans", "shown_text", "split_sentences"]

_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
_QUOTE = re.compile(r"^[ \t]*>[ \t]?")
_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$")


@dataclass(frozen=True, slots=True)
class Sentence:
    """``text[start:end]`` of the text it was found in; ``kind`` is ``prose``, ``item`` or ``row``."""

    start: int
    end: int
    text: str
    kind: str


@lru_cache(maxsize=1)
def _punkt() -> Any:
    from llama_index.core.utils import globals_helper

    return globals_helper.punkt_tokenizer


def _lines(text: str) -> Iterator[tuple[int, str]]:
    pos = 0
    for line in text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def _blocks(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of each block: a paragraph with its soft-wrapped lines, an item, a row.

    Inside a block quote the same rules hold on each line's content after its ``>`` marker: quoted
    list items start items, quoted wrapped lines continue their block (its text then holds the
    ``>`` markers of the lines after the first; :func:`shown_text` leaves them out), and an empty
    quoted line ends a block. A block never runs from quoted into unquoted text or back.
    """
    start: int | None = None
    end = 0
    kind = "prose"
    quoted = False
    for pos, line in _lines(text):
        quote = _QUOTE.match(line)
        prefix = quote.end() if quote else 0
        content = line[prefix:]
        stripped = content.strip()
        if not stripped or _HEADING.match(content) or _RULE.match(content) or set(stripped) <= {"|", "-", " ", ":"}:
            if start is not None:
                yield start, end, kind
            start = None
            continue
        item = _LIST_ITEM.match(content)
        row = _TABLE_ROW.match(content)
        begins = item or row or (quote is not None) != quoted
        if start is not None and (begins or kind == "row"):
            yield start, end, kind
            start = None
        if start is None:
            offset = item.end() if item else len(content) - len(content.lstrip())
            start = pos + prefix + offset
            kind = "item" if item else "row" if row else "prose"
            quoted = quote is not None
        end = pos + len(line.rstrip())
    if start is not None:
        yield start, end, kind


_QUOTE_MARKS = re.compile(r"\n[ \t]*>[ \t]?")


def shown_text(text: str) -> str:
    """``text`` (a sentence or a slice of a chunk) as a reader sees it: the ``>`` markers of quoted
    lines after the first left out, line breaks and runs of spaces made single spaces."""
    return " ".join(_QUOTE_MARKS.sub("\n", text).split())


SPLIT_TEXTS = 4096
"""How many texts' sentences :func:`sentence_spans` keeps: the answerer, the sentence ranker and the
refusal signals split the same retrieved chunks question after question, and under load Punkt's
splitting was a fifth of the busy time of ``POST /v1/ask`` (docs/benchmarks.md, issue 17)."""


def sentence_spans(text: str) -> list[Sentence]:
    """The sentences of ``text`` in reading order, with their offsets.

    A table row is one sentence; headings and horizontal rules are not sentences; list bullets
    are left out. ``text[s.start:s.end] == s.text`` for every sentence ``s``. The result is a new
    list each call; the split of the last :data:`SPLIT_TEXTS` texts is remembered.
    """
    return list(_split(text))


@lru_cache(maxsize=SPLIT_TEXTS)
def _split(text: str) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    punkt = _punkt()
    for lo, hi, kind in _blocks(text):
        block = text[lo:hi]
        if kind == "row":
            out.append(Sentence(lo, hi, block, kind))
            continue
        flat = block.replace("\n", " ")  # same length: spans found in it index the block too
        for s, e in punkt.span_tokenize(flat):
            piece = block[s:e].strip()
            at = lo + s + (len(block[s:e]) - len(block[s:e].lstrip()))
            marker = _QUOTE.match(piece)
            if marker and not text[text.rfind("\n", 0, at) + 1 : at].strip():
                piece, at = piece[marker.end() :], at + marker.end()  # a quoted line's marker, not text
            if piece:
                out.append(Sentence(at, at + len(piece), piece, kind))
    return tuple(out)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`); each occurs verbatim in ``text``."""
    return [s.text for s in sentence_spans(text)]
