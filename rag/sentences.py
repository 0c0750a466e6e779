"""Sentence splitting that keeps every sentence a verbatim substring of its text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["split_sentences"]

_LINE_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@lru_cache(maxsize=1)
def _punkt() -> Any:
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    return split_by_sentence_tokenizer()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (lines, list items and table rows count as their own sentences).

    Every returned string occurs verbatim in ``text``; list bullets are left out of the
    sentence but what follows them is kept as written.
    """
    out: list[str] = []
    split = _punkt()
    for line in text.split("\n"):
        line = _LINE_ITEM.sub("", line).strip()
        if not line or line.startswith("|-") or set(line) <= {"|", "-", " ", ":"}:
            continue
        for piece in split(line):
            piece = piece.strip()
            if piece and piece in text:
                out.append(piece)
    return out
