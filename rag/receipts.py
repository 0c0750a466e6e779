"""An answer's receipt: everything needed to show, later, exactly what the assistant read and how.

A receipt is assembled from what was stored when the answer was given (the answer record and the
retrieval settings then) and from the answering version's manifest, which the catalog keeps even
after retention drops the version. Per citation it names the document's content hash in that
version (SHA-256 of title, NUL, normalized text: ``ingest.documents.LoadedDocument.content_hash``)
and the quote's character offsets in that version's normalized text, so
``text[quote_start:quote_end] == quote`` for the text ``GET .../versions/{v}/documents/{doc_id}``
returns.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from indexes.catalog import Catalog
from indexes.releases import AnswerSpec, ReleaseNotFound, ReleaseStore
from prompts import PromptError, load_prompt
from rag.answer_log import AnswerLog
from rag.records import AnswerRecord, IndexOut, ModelOut

__all__ = ["Receipt", "ReceiptCitation", "ReceiptPrompt", "ReceiptRelease", "ReceiptVersion", "build_receipt"]


class ReceiptCitation(BaseModel):
    """One citation, located in the answering version's normalized document text."""

    n: int
    doc_id: str
    title: str
    source: str
    heading_path: list[str]
    page: int | None
    chunk_id: str
    document_hash: str | None = Field(description="The document's content hash in the answering version.")
    quote: str
    quote_start: int | None = Field(description="text[quote_start:quote_end] == quote in that version's text.")
    quote_end: int | None
    chunk_start: int
    chunk_end: int
    text_url: str = Field(description="Where that version's text of the document is served.")


class ReceiptPrompt(BaseModel):
    """The versioned prompt template (released templates are never edited) and its digest."""

    name: str
    version: str
    sha256: str | None
    text: str | None


class ReceiptVersion(BaseModel):
    """The answering version as its manifest describes it, and its state now."""

    number: int
    state: str | None
    created_at: datetime | None
    embedder: dict[str, Any] | None
    chunker: dict[str, Any] | None
    dropped_at: datetime | None


class ReceiptRelease(BaseModel):
    """The release that answered, as stored (releases never change)."""

    number: int
    follows_settings: bool = Field(description="True: it answered with the process's settings then (see retrieval).")
    spec: AnswerSpec | None = Field(description="Its prompt, model (endpoint name, never a key) and settings.")
    created_at: datetime
    created_by: str | None


class Receipt(BaseModel):
    """What an auditor needs to reproduce an answer."""

    answer_id: str
    answered_at: datetime
    question: str
    searched: str | None = Field(description="The question as searched (a follow-up made standalone).")
    answer: str
    refused: bool
    index: IndexOut
    release: ReceiptRelease | None = Field(
        None, description="The release that answered (null: a pinned version, or answered before releases)."
    )
    version: ReceiptVersion
    prompt: ReceiptPrompt
    model: ModelOut
    retrieval: dict[str, Any] | None = Field(description="Retrieval settings in force then (null: not recorded).")
    citations: list[ReceiptCitation]


def _prompt(name: str, version: str) -> ReceiptPrompt:
    try:
        template = load_prompt(f"{name}/{version}")
    except PromptError:
        return ReceiptPrompt(name=name, version=version, sha256=None, text=None)
    digest = hashlib.sha256(template.text.encode("utf-8")).hexdigest()
    return ReceiptPrompt(name=name, version=version, sha256=digest, text=template.text)


def _release(releases: ReleaseStore | None, index: str, number: int | None) -> ReceiptRelease | None:
    if releases is None or number is None:
        return None
    try:
        r = releases.get(index, number)
    except ReleaseNotFound:
        return None
    return ReceiptRelease(
        number=r.number,
        follows_settings=r.follows_settings,
        spec=r.spec,
        created_at=r.created_at,
        created_by=r.created_by,
    )


def build_receipt(
    log: AnswerLog, catalog: Catalog, answer_id: str, releases: ReleaseStore | None = None
) -> Receipt | None:
    """The receipt of a recorded answer, or None when there is no such answer. Reads no source file.

    With ``releases``, the receipt also shows the release that answered."""
    stored = log.get(answer_id)
    context = log.receipt_context(answer_id)
    if stored is None or context is None:
        return None
    answered_at, extra = context
    record = AnswerRecord.model_validate(stored)
    name, number = record.index.name, record.index.version
    info = catalog.get_version(name, number)
    manifest = info.manifest if info is not None else None
    hashes = {d.doc_id: d.content_hash for d in manifest.documents} if manifest else {}
    citations = [
        ReceiptCitation(
            n=c.n,
            doc_id=c.doc_id,
            title=c.title,
            source=c.source,
            heading_path=c.heading_path,
            page=c.page,
            chunk_id=c.chunk_id,
            document_hash=hashes.get(c.doc_id),
            quote=c.quote,
            quote_start=c.quote_start,
            quote_end=c.quote_end,
            chunk_start=c.start,
            chunk_end=c.end,
            text_url=f"/v1/indexes/{name}/versions/{number}/documents/{c.doc_id}",
        )
        for c in record.citations
    ]
    return Receipt(
        answer_id=record.answer_id,
        answered_at=answered_at,
        question=record.question,
        searched=extra.get("searched"),
        answer=record.answer,
        refused=record.refused,
        index=record.index,
        release=_release(releases, name, record.release),
        version=ReceiptVersion(
            number=number,
            state=info.state if info is not None else None,
            created_at=manifest.created_at if manifest else None,
            embedder=manifest.embedder.model_dump(mode="json") if manifest else None,
            chunker=manifest.chunker.model_dump(mode="json") if manifest else None,
            dropped_at=catalog.dropped_at(name, number),
        ),
        prompt=_prompt(record.prompt.name, record.prompt.version),
        model=record.model,
        retrieval=extra.get("retrieval"),
        citations=citations,
    )
