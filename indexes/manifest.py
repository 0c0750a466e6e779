"""The manifest of an index version: what produced it, so nothing about a version is a mystery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChunkerSpec", "DocumentEntry", "EmbedderSpec", "FileError", "Manifest", "PurgeRecord", "SparseSpec"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmbedderSpec(_Frozen):
    """The dense embedder that built a version; queries against it must use the same one."""

    model_id: str
    dimension: int
    max_seq_length: int
    normalize: bool = True


class SparseSpec(_Frozen):
    """The sparse (BM25) encoder settings; queries use the same tokenizer and stemmer."""

    kind: str = "qdrant_edge.Bm25"
    k: float
    b: float
    avg_len: float
    language: str = "english"


class ChunkerSpec(_Frozen):
    """How documents were cut into chunks."""

    name: str = "markdown-sections+sentences"
    max_tokens: int
    overlap_tokens: int
    embed_headings: bool


class DocumentEntry(_Frozen):
    """One source document of a version."""

    doc_id: str
    title: str
    source: str
    format: str
    content_hash: str
    chunk_count: int
    chars: int
    metadata: dict[str, Any] = Field(default_factory=dict)


class FileError(_Frozen):
    """A file the build could not read; the rest of the build went on."""

    source: str
    error: str


class PurgeRecord(_Frozen):
    """A document removed from a version after it was built (``indexes.purge``)."""

    doc_id: str
    at: datetime
    chunks_removed: int


class Manifest(_Frozen):
    """Everything that produced one immutable version of an index.

    A version's content changes after its build only by a purge: the purged document leaves
    ``documents``, its chunks leave ``chunk_count``, and ``purged`` records what was removed when.
    """

    index: str
    version: int
    engine: str
    source: str
    created_at: datetime
    source_revision: str | None = None
    """The revision of the source the documents were read at (a Git commit, a listing hash); None: not recorded."""
    embedder: EmbedderSpec
    sparse: SparseSpec
    chunker: ChunkerSpec
    documents: list[DocumentEntry]
    chunk_count: int
    chunks_embedded: int
    chunks_reused: int = 0
    parent_version: int | None = None
    errors: list[FileError] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)
    purged: list[PurgeRecord] = Field(default_factory=list)
    pii_redaction: bool = False
    """Whether the build redacted PII (``ingest.pii``) before chunking."""
    redactions: dict[str, int] = Field(default_factory=dict)
    """PII values redacted by the build, by kind (``email``, ``phone``, ``card``, ...); never the values."""
    refusal: dict[str, Any] | None = None
    """The refusal decision calibrated for this version on its index's golden questions (``rag.refusal``);
    None: the similarity threshold of the settings."""
    collected_at: datetime | None = None
    """When the build collected its files (None: before this was recorded; ``created_at`` stands in).
    A document purged after this time must not be in the version (``indexes.purge_log``)."""
    pii_kept: dict[str, int] = Field(default_factory=dict)
    """PII-shaped values the build kept as published contact points (role mailboxes, the organisation's
    domains, hotlines, numbers in several documents, configured values), by kind; never the values."""
    pii_domains: list[str] = Field(default_factory=list)
    """The organisation's email domains redaction kept non-personal addresses of (configured and derived)."""
    flagged_instructions: list[dict[str, str]] = Field(default_factory=list)
    """Instruction-like text found in documents (``ingest.injection``): ``doc_id``, ``source`` and the
    line, for the owner to review; never quoted by the extractive answerer."""
    scopes: dict[str, dict[str, list[int]]] = Field(default_factory=dict)
    """Scope markers (``ingest.scopes``): per top-level folder, the BM25 term ids that name it
    (``markers``) and those in most of its documents (``pervasive``). A question using one folder's
    markers is answered from that folder (``rag.question_scope``)."""
