"""What changed: a document's sections between two versions, and an index's changes since a date.

- ``GET /v1/indexes/{name}/documents/{doc_id}/changes?from=&to=``: versions by number or by date
  (the version live then); ``to`` defaults to the live version and ``from`` to the version live
  before it.
- ``GET /v1/indexes/{name}/changes?since=DATE``: per document, the sections that changed each time
  a version went live since then, with the document's owner.

Both read the text each version holds, never the source; the caller's access groups apply (a
document they cannot see is absent from every answer, headings included).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Employee
from api.deps import ServicesDep
from api.schemas import ErrorBody
from indexes.live_history import live_spans
from indexes.refs import check_index_name
from rag.access.history import document_filter
from rag.access.principal import Principal
from rag.as_of import parse_as_of
from rag.errors import Conflict, IndexNotFound
from rag.what_changed import VersionTexts, Visible, changes_since, document_changes, resolve_point
from rag.wiring import Services

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["changes"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown index, version or document, or no version live then."},
    409: {"model": ErrorBody, "description": "`from` or `to` left out, and no live version (or none before it)."},
    410: {"model": ErrorBody, "description": "The text of a version built before texts were kept is dropped."},
    422: {"model": ErrorBody, "description": "`from`, `to` or `since` is neither a version number nor an ISO date."},
}


class SentencePairOut(BaseModel):
    before: str | None
    after: str | None


class SectionChangeOut(BaseModel):
    """A section that was added, removed or changed (its sentences side by side)."""

    heading_path: list[str]
    change: str = Field(description="`added`, `removed` or `changed`.")
    before: str | None
    after: str | None
    sentences: list[SentencePairOut]


class DocumentChangesOut(BaseModel):
    """A document between two versions, by section."""

    index: str
    doc_id: str
    from_version: int
    to_version: int
    title: str
    owner: str | None
    status: str = Field(description="`added`, `removed`, `changed` or `unchanged`.")
    sections: list[SectionChangeOut]


class ChangedSectionOut(BaseModel):
    heading_path: list[str]
    change: str


class IndexChangeOut(BaseModel):
    """A document that changed when ``version`` went live."""

    doc_id: str
    title: str
    owner: str | None
    version: int
    previous_version: int
    live_from: datetime
    status: str
    sections: list[ChangedSectionOut]


class IndexChangesOut(BaseModel):
    index: str
    since: datetime
    changes: list[IndexChangeOut]


def _visible(services: Services, principal: Principal) -> Visible:
    return document_filter(principal, services.settings.default_access_group)


def _texts(services: Services) -> VersionTexts:
    return VersionTexts(services.catalog, services.engine, services.builder.texts)


def _document(
    services: Services, principal: Principal, name: str, doc_id: str, start: str | None, end: str | None
) -> DocumentChangesOut:
    check_index_name(name)
    catalog = services.catalog
    to_version = resolve_point(catalog, name, end) if end else services.registry.live_version(name)
    if to_version is None:
        if not catalog.list_versions(name):
            raise IndexNotFound(f"unknown index {name!r}")
        raise Conflict(f"index {name!r} has no live version: name `to`")
    if start:
        from_version = resolve_point(catalog, name, start)
    else:
        went_live = [s for s in live_spans(catalog.alias_history(name)) if s.version == to_version]
        previous = went_live[-1].previous_version if went_live else None
        if previous is None:
            raise Conflict(f"no version of {name!r} was live before v{to_version}: name `from`")
        from_version = previous
    result = document_changes(_texts(services), name, doc_id, from_version, to_version, _visible(services, principal))
    return DocumentChangesOut(
        index=result.index,
        doc_id=result.doc_id,
        from_version=result.from_version,
        to_version=result.to_version,
        title=result.title,
        owner=result.owner,
        status=result.status,
        sections=[
            SectionChangeOut(
                heading_path=list(s.heading_path),
                change=s.change,
                before=s.before,
                after=s.after,
                sentences=[SentencePairOut(before=p.before, after=p.after) for p in s.sentences],
            )
            for s in result.sections
        ],
    )


def _index(services: Services, principal: Principal, name: str, since: str) -> IndexChangesOut:
    check_index_name(name)
    moment = parse_as_of(since)
    changes = changes_since(_texts(services), name, moment, _visible(services, principal))
    return IndexChangesOut(
        index=name,
        since=moment,
        changes=[
            IndexChangeOut(
                doc_id=c.doc_id,
                title=c.title,
                owner=c.owner,
                version=c.version,
                previous_version=c.previous_version,
                live_from=c.live_from,
                status=c.status,
                sections=[ChangedSectionOut(heading_path=list(p), change=k) for p, k in c.sections],
            )
            for c in changes
        ],
    )


@router.get("/{name}/documents/{doc_id:path}/changes", response_model=DocumentChangesOut, responses=_ERRORS)
async def document_changes_route(
    name: str,
    doc_id: str,
    services: ServicesDep,
    principal: Employee,
    start: Annotated[str | None, Query(alias="from", max_length=64, description="Version number or ISO date.")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=64, description="Version number or ISO date.")] = None,
) -> DocumentChangesOut:
    """The document's sections added, removed and changed between two versions (changed sentences
    side by side), from the text each version holds."""
    return await run_in_threadpool(_document, services, principal, name, doc_id, start, end)


@router.get("/{name}/changes", response_model=IndexChangesOut, responses=_ERRORS)
async def index_changes_route(
    name: str,
    services: ServicesDep,
    principal: Employee,
    since: Annotated[str, Query(min_length=1, max_length=64, description="ISO date or date-time.")],
) -> IndexChangesOut:
    """Per document the caller may see: which sections changed since ``since``, in which version, and its owner."""
    return await run_in_threadpool(_index, services, principal, name, since)
