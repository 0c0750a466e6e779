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

__all__ = ["Sentence", "sentence_spans", "split_sentences"]

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
    """(start, end, kind) of each block: a paragraph with its soft-wrapped lines, an item, a row."""
    start: int | None = None
    end = 0
    kind = "prose"
    for pos, line in _lines(text):
        stripped = line.strip()
        if not stripped or _HEADING.match(line) or _RULE.match(line) or set(stripped) <= {"|", "-", " ", ":"}:
            if start is not None:
                yield start, end, kind
            start = None
            continue
        item = _LIST_ITEM.match(line)
        row = _TABLE_ROW.match(line)
        quote = _QUOTE.match(line)
        begins = item or row or quote
        if start is not None and (begins or kind == "row"):
            yield start, end, kind
            start = None
        if start is None:
            offset = item.end() if item else quote.end() if quote else len(line) - len(line.lstrip())
            start = pos + offset
            kind = "item" if item else "row" if row else "prose"
        end = pos + len(line.rstrip())
    if start is not None:
        yield start, end, kind


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
            if piece:
                at = lo + s + (len(block[s:e]) - len(block[s:e].lstrip()))
                out.append(Sentence(at, at + len(piece), piece, kind))
    return tuple(out)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`); each occurs verbatim in ``text``."""
    return [s.text for s in sentence_spans(text)]
