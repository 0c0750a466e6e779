"""The loaded, normalized form of a source document that chunking works on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoadedDocument", "PageSpan", "content_hash"]


def content_hash(text: str) -> str:
    """Stable SHA-256 hex digest of a text (the identity of a document's or chunk's content)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Characters ``[start, end)`` of the normalized text come from page ``page`` (1-based)."""

    page: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A document after loading and normalizing.

    ``text`` is Markdown-like: headings are ATX lines (``#``, ``##`` ...), front matter and
    template shortcodes are gone. Chunk offsets refer to this text.
    """

    doc_id: str
    title: str
    source: str
    format: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: list[PageSpan] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        """Hash of the normalized text and title: unchanged hash means unchanged chunks."""
        return content_hash(self.title + "\x00" + self.text)

    def page_at(self, offset: int) -> int | None:
        """The page holding character ``offset``, or None for formats without pages."""
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].end else None
