"""``GET /v1/indexes/{name}/versions/{version}/documents/{doc_id}``: a document as a version holds it.

The same document is also ``GET /v1/indexes/{name}/versions/{version}/document?doc_id=...``: a doc id
in the query can never become a ``.`` or ``..`` path segment that a browser resolves into another
route, so the web pages use this form.

The text is the version's own chunks of the document laid out at their offsets in the
normalized document, so a citation can be shown in context exactly as it was answered from,
even after the source file changed or was deleted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Employee
from api.deps import ServicesDep
from api.fields import VersionPath
from api.schemas import ErrorBody
from indexes.catalog import VersionState
from indexes.health import storage_missing
from indexes.refs import check_index_name
from indexes.types import ChunkRecord
from rag.access.principal import Principal
from rag.access.visibility import entry_visible
from rag.errors import DocumentNotFound, VersionNotFound
from rag.wiring import Services

__all__ = ["DocumentText", "load_document", "router"]

router = APIRouter(prefix="/v1/indexes", tags=["documents"])


class Segment(BaseModel):
    """A continuous stretch of the normalized document: ``text`` spans ``[start, end)``."""

    start: int
    end: int
    text: str


class ChunkSpan(BaseModel):
    """Where one chunk lies in the normalized document (for highlighting a citation)."""

    chunk_id: str
    start: int
    end: int
    heading_path: list[str]
    page: int | None


class DocumentText(BaseModel):
    """A document of one version: its manifest entry and its text, in segments (gaps are text no
    chunk holds, such as blank lines between sections)."""

    index: str
    version: int
    doc_id: str
    title: str
    source: str
    format: str
    metadata: dict[str, object] = Field(default_factory=dict)
    segments: list[Segment]
    chunks: list[ChunkSpan]


def _segments(chunks: list[ChunkRecord]) -> list[Segment]:
    """Merge chunks (sorted by start; overlapping ones share text) into continuous segments."""
    out: list[Segment] = []
    for c in chunks:
        if out and c.start <= out[-1].end:
            last = out[-1]
            if c.end > last.end:
                out[-1] = Segment(start=last.start, end=c.end, text=last.text + c.text[last.end - c.start :])
        else:
            out.append(Segment(start=c.start, end=c.end, text=c.text))
    return out


def load_document(services: Services, principal: Principal, name: str, version: int, doc_id: str) -> DocumentText:
    """Document ``doc_id`` as ``name@version`` holds it; 404 ``document_not_found`` when it is outside the
    caller's groups (as if it did not exist), ``version_not_found`` for an unknown or dropped version."""
    check_index_name(name)
    info = services.catalog.get_version(name, version)
    if info is None or info.manifest is None:
        raise VersionNotFound(f"{name}@{version} does not exist or is not built")
    if not services.engine.has_version(name, version):
        if info.state == VersionState.DROPPED:
            raise VersionNotFound(f"the storage of {name}@{version} was dropped by retention")
        raise storage_missing(services.engine, name, version)
    entry = next((d for d in info.manifest.documents if d.doc_id == doc_id), None)
    default_group = services.settings.default_access_group
    if entry is None or not entry_visible(entry, principal.visible_groups(default_group), default_group):
        # a document outside the caller's groups is as unknown as one that does not exist
        raise DocumentNotFound(f"{name}@{version} holds no document {doc_id!r}")
    chunks = sorted(
        (p.chunk for p in services.engine.iter_points(name, version) if p.chunk.doc_id == doc_id),
        key=lambda c: (c.start, c.end),
    )
    if not chunks:
        raise DocumentNotFound(f"{doc_id!r} was purged from {name}@{version}")
    return DocumentText(
        index=name,
        version=version,
        doc_id=doc_id,
        title=entry.title,
        source=entry.source,
        format=entry.format,
        metadata=dict(entry.metadata),
        segments=_segments(chunks),
        chunks=[
            ChunkSpan(chunk_id=c.chunk_id, start=c.start, end=c.end, heading_path=c.heading_path, page=c.page)
            for c in chunks
        ],
    )


@router.get(
    "/{name}/versions/{version}/documents/{doc_id:path}",
    response_model=DocumentText,
    responses={
        404: {"model": ErrorBody, "description": "Unknown index, version or document."},
        503: {"model": ErrorBody, "description": "The version's storage is missing (storage_missing)."},
    },
)
async def document_text(
    name: str, version: VersionPath, doc_id: str, services: ServicesDep, principal: Employee
) -> DocumentText:
    """The normalized text of a document as version ``version`` holds it, with its chunks' spans.

    A document outside the caller's access groups answers 404, like one that does not exist.
    """
    return await run_in_threadpool(load_document, services, principal, name, version, doc_id)


@router.get(
    "/{name}/versions/{version}/document",
    response_model=DocumentText,
    responses={404: {"model": ErrorBody, "description": "Unknown index, version or document."}},
)
async def document_text_by_query(
    name: str,
    version: VersionPath,
    doc_id: Annotated[str, Query(min_length=1, max_length=1024, description="The document's id.")],
    services: ServicesDep,
    principal: Employee,
) -> DocumentText:
    """The same as ``.../documents/{doc_id}``, with the doc id as a query parameter (as the web
    pages ask for it: no path segment of the request comes from a document id)."""
    return await run_in_threadpool(load_document, services, principal, name, version, doc_id)
