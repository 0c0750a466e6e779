"""Value types shared by the index engines: chunks, points to write, queries and hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChunkRecord", "IndexPoint", "SearchHit", "SearchQuery", "SparseVector"]


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector as parallel index/value lists (BM25 term weights)."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One chunk of one document, as stored in a version's payload.

    ``text[start:end]`` of the normalized document equals ``text`` (offsets are
    character offsets into the normalized document text).
    """

    chunk_id: str
    doc_id: str
    title: str
    heading_path: list[str]
    page: int | None
    start: int
    end: int
    text: str
    token_count: int
    content_hash: str
    source: str
    ordinal: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    """Access groups of the chunk's document; searches filtered by groups match any of them."""

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload written next to the vectors."""
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "heading_path": list(self.heading_path),
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "token_count": self.token_count,
            "content_hash": self.content_hash,
            "source": self.source,
            "ordinal": self.ordinal,
            "metadata": dict(self.metadata),
            "groups": list(self.groups),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ChunkRecord:
        """Rebuild a chunk from a stored payload (inverse of :meth:`to_payload`)."""
        return cls(
            chunk_id=str(payload["chunk_id"]),
            doc_id=str(payload["doc_id"]),
            title=str(payload.get("title", "")),
            heading_path=[str(h) for h in payload.get("heading_path") or []],
            page=payload.get("page"),
            start=int(payload["start"]),
            end=int(payload["end"]),
            text=str(payload["text"]),
            token_count=int(payload.get("token_count", 0)),
            content_hash=str(payload.get("content_hash", "")),
            source=str(payload.get("source", "")),
            ordinal=int(payload.get("ordinal", 0)),
            metadata=dict(payload.get("metadata") or {}),
            groups=[str(g) for g in payload.get("groups") or []],
        )


@dataclass(frozen=True, slots=True)
class IndexPoint:
    """A chunk with its dense and sparse vectors, ready to be written."""

    chunk: ChunkRecord
    dense: list[float]
    sparse: SparseVector


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One retrieval request against one version.

    ``mode`` is ``hybrid`` (dense + sparse fused in one query), ``dense`` or ``sparse``.
    ``fusion`` picks how hybrid fuses: ``rrf`` (reciprocal rank with 0-based ranks,
    ``sum(1 / ((rank + 1) / w + rrf_k - 1))`` with the per-prefetch ``weights`` w, dense first; both 1
    when None, which is ``sum(1 / (rrf_k + rank))``) or ``dbsf`` (distribution-based
    score fusion: each prefetch's scores normalized by mean +- 3 std, then summed).
    ``doc_ids`` restricts the search to those documents when given; ``groups``
    restricts it to chunks in at least one of those access groups (inside the engine's query, in
    every prefetch); None means no restriction, an empty list matches nothing.
    """

    dense: list[float]
    sparse: SparseVector
    limit: int
    mode: str = "hybrid"
    prefetch_limit: int = 50
    rrf_k: int = 60
    doc_ids: list[str] | None = None
    fusion: str = "rrf"
    weights: tuple[float, float] | None = None
    groups: list[str] | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A retrieved chunk: its fused rank score and its dense cosine similarity to the query."""

    chunk: ChunkRecord
    score: float
    similarity: float
