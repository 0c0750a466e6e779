"""Structure-aware chunking: heading sections first, then sentence-aligned pieces within a token budget.

Uses LlamaIndex's MarkdownNodeParser (sections and heading paths) and SentenceSplitter (sentence
boundaries) with the embedder's own tokenizer, so no chunk is ever truncated by the embedder.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core import Document
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from indexes.manifest import ChunkerSpec
from indexes.types import ChunkRecord
from ingest.documents import LoadedDocument, content_hash

__all__ = ["CHUNK_NAMESPACE", "Chunk", "Chunker"]

CHUNK_NAMESPACE = uuid.UUID("5d0b6f1e-8a53-4f0c-9a55-2f6e0c1f4b27")
"""Namespace of the deterministic (uuid5) chunk ids."""

_HEADING_LINE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk record plus the exact text that is embedded (title and heading path + chunk text)."""

    record: ChunkRecord
    embed_text: str


@dataclass(frozen=True, slots=True)
class _Section:
    heading_path: list[str]
    start: int
    text: str


class Chunker:
    """Cuts a ``LoadedDocument`` into chunks whose embedded text fits the embedder.

    Guarantees for every chunk: ``doc.text[start:end] == text``; ``count_tokens(embed_text) <=
    max_tokens``; the chunk id is a function of (doc id, position, embedded content), so
    re-chunking the same document yields the same ids.
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int,
        overlap_tokens: int = 32,
        embed_headings: bool = True,
    ) -> None:
        if max_tokens < 16:
            raise ValueError("max_tokens must be at least 16")
        self._count = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = min(overlap_tokens, max_tokens // 4)
        self.embed_headings = embed_headings
        self._sections = MarkdownNodeParser()
        self._tokenize = lambda text: [0] * count_tokens(text)

    @property
    def spec(self) -> ChunkerSpec:
        """What a manifest records about this chunker."""
        return ChunkerSpec(
            max_tokens=self.max_tokens,
            overlap_tokens=self.overlap_tokens,
            embed_headings=self.embed_headings,
        )

    def chunk(self, doc: LoadedDocument) -> list[Chunk]:
        """All chunks of a document, in reading order; each carries the document's ``access_groups``."""
        chunks: list[Chunk] = []
        raw_groups = doc.metadata.get("access_groups")
        groups = sorted(str(g) for g in raw_groups) if isinstance(raw_groups, list) else []
        for section in self._split_sections(doc):
            prefix = self._prefix(doc.title, section.heading_path)
            budget = self.max_tokens - self._count(prefix) if prefix else self.max_tokens
            if budget < self.max_tokens // 2:
                prefix = self._prefix(doc.title, []) if self.embed_headings else ""
                budget = self.max_tokens - self._count(prefix) if prefix else self.max_tokens
            for start, end in self._pieces(section, budget):
                text = doc.text[start:end]
                embed_text = prefix + text
                ordinal = len(chunks)
                digest = content_hash(embed_text)
                chunk_id = str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc.doc_id}\x00{ordinal}\x00{digest}"))
                record = ChunkRecord(
                    chunk_id=chunk_id,
                    doc_id=doc.doc_id,
                    title=doc.title,
                    heading_path=list(section.heading_path),
                    page=doc.page_at(start),
                    start=start,
                    end=end,
                    text=text,
                    token_count=self._count(embed_text),
                    content_hash=digest,
                    source=doc.source,
                    ordinal=ordinal,
                    groups=groups,
                )
                chunks.append(Chunk(record=record, embed_text=embed_text))
        return chunks

    def embed_text_of(self, record: ChunkRecord) -> str | None:
        """The embedded text of a chunk this chunker made earlier, or None if it cannot be rebuilt.

        The result is checked against the record's content hash, so a returned text is exactly the
        one that was embedded (the prefix is the title and heading path, the title alone, or empty).
        """
        candidates = [self._prefix(record.title, record.heading_path), self._prefix(record.title, []), ""]
        for prefix in dict.fromkeys(candidates):
            text = prefix + record.text
            if content_hash(text) == record.content_hash:
                return text
        return None

    def _prefix(self, title: str, heading_path: list[str]) -> str:
        if not self.embed_headings:
            return ""
        parts = [title, *[h for h in heading_path if h != title]]
        return " > ".join(p for p in parts if p) + "\n"

    def _split_sections(self, doc: LoadedDocument) -> list[_Section]:
        nodes = self._sections.get_nodes_from_documents([Document(text=doc.text, id_=doc.doc_id)])
        sections: list[_Section] = []
        cursor = 0
        for node in nodes:
            node_text = node.get_content()
            start = doc.text.find(node_text, cursor)
            if start < 0:
                start = doc.text.find(node_text)
            if start < 0 or not node_text.strip():
                continue
            cursor = start + len(node_text)
            parents = [p for p in str(node.metadata.get("header_path", "/")).split("/") if p]
            first_line, _, body = node_text.partition("\n")
            match = _HEADING_LINE.match(first_line)
            if match:
                path = [*parents, match.group(2).strip()]
                body_start = start + len(first_line) + 1
            else:
                path, body, body_start = parents, node_text, start
            stripped = body.lstrip()
            body_start += len(body) - len(stripped)
            body = stripped.rstrip()
            if body:
                sections.append(_Section(heading_path=path, start=body_start, text=body))
        return sections

    def _pieces(self, section: _Section, budget: int) -> list[tuple[int, int]]:
        """Character ranges (in document coordinates) of the section's chunks."""
        if self._count(section.text) <= budget:
            return [(section.start, section.start + len(section.text))]
        splitter = SentenceSplitter(
            chunk_size=budget,
            chunk_overlap=min(self.overlap_tokens, budget // 4),
            tokenizer=self._tokenize,
            paragraph_separator="\n\n",
        )
        ranges: list[tuple[int, int]] = []
        cursor = 0
        for piece in splitter.split_text(section.text):
            piece = piece.strip()
            if not piece:
                continue
            at = section.text.find(piece, cursor)
            if at < 0:
                at = section.text.find(piece)
            if at < 0:  # the splitter rewrote whitespace: fall back to a token-exact cut
                ranges.extend(self._hard_split(section, cursor, budget))
                break
            cursor = at + 1
            for lo, hi in self._fit(section.text, at, at + len(piece), budget):
                ranges.append((section.start + lo, section.start + hi))
        return ranges

    def _fit(self, text: str, lo: int, hi: int, budget: int) -> list[tuple[int, int]]:
        """Split ``text[lo:hi]`` at whitespace until every part is within ``budget`` tokens."""
        if self._count(text[lo:hi]) <= budget:
            return [(lo, hi)]
        mid = text.rfind(" ", lo, (lo + hi) // 2 + 1)
        if mid <= lo:
            mid = (lo + hi) // 2
        left = self._fit(text, lo, mid, budget)
        right_lo = mid
        while right_lo < hi and text[right_lo].isspace():
            right_lo += 1
        return left + (self._fit(text, right_lo, hi, budget) if right_lo < hi else [])

    def _hard_split(self, section: _Section, cursor: int, budget: int) -> list[tuple[int, int]]:
        return [
            (section.start + lo, section.start + hi)
            for lo, hi in self._fit(section.text, cursor, len(section.text), budget)
        ]
