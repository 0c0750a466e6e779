"""Markdown table rows as an answer reads them: each cell with the name of its column.

A row quoted alone (``| HR Links | To request leave online |``) says little without its table's
header; read with it, it states a fact ("System: HR Links; Purpose: To request leave online").
The header row itself states none, so it is never an answer's sentence. Quotes stay verbatim:
only the text shown changes.
"""

from __future__ import annotations

import re

__all__ = ["header_of", "is_header", "spoken"]

_ROW = re.compile(r"^[ \t]*\|")
_SEPARATOR = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?[ \t]*)?$")


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return [cell.strip() for cell in body.split("|")]


def _line_at(text: str, offset: int) -> tuple[int, int]:
    """(start, end) of the line of ``text`` that holds ``offset``."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, len(text) if end < 0 else end


def is_header(text: str, row_end: int) -> bool:
    """Whether the row ending at ``row_end`` in ``text`` is a table's header: a separator line follows it."""
    nxt = text.find("\n", row_end)
    if nxt < 0:
        return False
    start, end = _line_at(text, nxt + 1)
    return bool(_SEPARATOR.match(text[start:end]))


def header_of(text: str, row_start: int) -> list[str] | None:
    """The header cells of the table whose row starts at ``row_start`` in ``text``: the row above the
    table's separator line, found by walking up the table's rows; None when the chunk does not hold it."""
    start, _ = _line_at(text, row_start)
    while start > 0:
        start, end = _line_at(text, start - 1)
        line = text[start:end]
        if _SEPARATOR.match(line):
            if start == 0:
                return None
            h_start, h_end = _line_at(text, start - 1)
            header = text[h_start:h_end]
            return _cells(header) if _ROW.match(header) else None
        if not _ROW.match(line):
            return None
    return None


def spoken(quote: str, header: list[str] | None) -> str:
    """``quote`` with each of its table rows read as "column: cell; ..." (empty cells left out; without
    a ``header`` of the row's width, the cells alone), the rows apart as sentences; other lines kept."""
    out: list[str] = []
    for line in quote.split("\n"):
        if not _ROW.match(line) or _SEPARATOR.match(line):
            out.append(line)
            continue
        cells = _cells(line)
        labels = header if header is not None and len(header) == len(cells) else [""] * len(cells)
        parts = [f"{label}: {cell}" if label else cell for label, cell in zip(labels, cells, strict=True) if cell]
        read = "; ".join(parts)
        out.append(read if read.endswith((".", "!", "?")) else read + ".")
    return "\n".join(out)
