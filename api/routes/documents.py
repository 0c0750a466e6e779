"""Document routes: uploads, deletions and the document listing of an index (its source: ``api.routes.sources``).

Uploads and deletions change what the next build of the index contains; no version changes until
then (except ``purge=true``, which removes the document's chunks from every retained version).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field

from api.auth import IndexOwner
from api.deps import ServicesDep
from api.fields import Name, check_name
from api.schemas import ErrorBody
from indexes.manifest import Manifest
from indexes.refs import check_index_name
from ingest.access_groups import GROUPS_KEY, parse_groups
from ingest.document_store import DocumentOrigin, DocumentState, DocumentStatus, UploadedDocument
from ingest.upload_check import check_upload
from rag.access.documents import (
    builder_groups,
    check_assignable,
    check_can_see,
    check_may_upload,
    retained_manifests,
    status_groups,
)
from rag.errors import IndexNotFound, InvalidInput, PayloadTooLarge
from rag.wiring import Services

__all__ = [
    "DeleteResult",
    "DocumentListing",
    "DocumentOut",
    "DocumentStatusOut",
    "router",
]

router = APIRouter(prefix="/v1/indexes", tags=["documents"])


# bodies -----------------------------------------------------------------------------------------


class DocumentOut(BaseModel):
    """An uploaded document as stored; it enters the index with the next build."""

    index: str
    doc_id: str
    filename: str
    suffix: str
    size: int
    sha256: str
    owner: str
    metadata: dict[str, Any]
    access_groups: list[str] = Field(description="The groups that will see the document once built.")
    uploaded_at: datetime


class DocumentStatusOut(BaseModel):
    """One document of the next build or the live version (statuses: see ``ingest.document_store``)."""

    doc_id: str
    status: DocumentState
    origin: DocumentOrigin | None = Field(
        description="Where the next build takes it from: the source folder, the index's Git, S3 or Confluence "
        "source, or an upload."
    )
    source: str
    title: str | None
    owner: str | None
    uploaded_at: datetime | None
    size: int | None
    access_groups: list[str] = Field(description="Who sees it: the live version's groups, else the next build's.")
    revision: dict[str, Any] | None = Field(
        None,
        description="A Git, S3 or Confluence document's revision as the source lists it now (Git: commit, author, "
        "date; S3: etag, last modified; Confluence: page id, version, labels).",
    )


class DocumentListing(BaseModel):
    """The documents of an index and how the next build differs from the live version."""

    index: str
    live_version: int | None
    source_folder: str | None
    source: str | None = Field(None, description="The Git, S3 or Confluence source listed (null: a folder or none).")
    source_revision: str | None = Field(None, description="That source's revision now (e.g. the Git commit).")
    documents: list[DocumentStatusOut]


class DeleteResult(BaseModel):
    """A deletion: the doc_id is left out of the next builds.

    ``status`` is ``pending_delete`` while the live version still holds the document, else
    ``deleted``. ``purged`` maps each retained version to the chunks removed (``purge=true`` only).
    """

    index: str
    doc_id: str
    status: Literal["pending_delete", "deleted"]
    upload_removed: bool
    purged: dict[int, int] | None


# helpers ----------------------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown index or document."},
    422: {"model": ErrorBody, "description": "Invalid index name, doc_id, owner, metadata or folder."},
}


def _live_manifest(services: Services, index: str) -> tuple[int | None, Manifest | None]:
    live = services.registry.live_version(index)
    if live is None:
        return None, None
    info = services.catalog.get_version(index, live)
    return live, info.manifest if info is not None else None


def _document_out(doc: UploadedDocument, services: Services) -> DocumentOut:
    return DocumentOut(
        index=doc.index,
        doc_id=doc.doc_id,
        filename=doc.filename,
        suffix=doc.suffix,
        size=doc.size,
        sha256=doc.sha256,
        owner=doc.owner,
        metadata=doc.metadata,
        access_groups=builder_groups(services, doc.source_name, doc.metadata),
        uploaded_at=doc.uploaded_at,
    )


def _status_out(s: DocumentStatus, groups: list[str]) -> DocumentStatusOut:
    return DocumentStatusOut(
        doc_id=s.doc_id,
        status=s.status,
        origin=s.origin,
        source=s.source,
        title=s.title,
        owner=s.owner,
        uploaded_at=s.upload.uploaded_at if s.upload else None,
        size=s.upload.size if s.upload else None,
        access_groups=groups,
        revision=s.revision,
    )


def _parse_metadata(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"metadata: not valid JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(value, dict):
        raise InvalidInput("metadata: must be a JSON object")
    if GROUPS_KEY in value:
        try:
            value[GROUPS_KEY] = parse_groups(value[GROUPS_KEY])
        except InvalidInput as exc:
            raise InvalidInput(f"metadata.{exc.message}") from exc
    return value


# documents --------------------------------------------------------------------------------------


@router.get("/{name}/documents", response_model=DocumentListing, responses=_ERRORS)
def list_documents(name: str, services: ServicesDep, principal: IndexOwner) -> DocumentListing:
    """Every document of the next build and of the live version, by doc_id, with its status.

    For an index bound to a Git, S3 or Confluence source, the next build's documents are those the
    source lists now (origin ``source``, with their ``revision``). Only documents in the caller's
    access groups are listed.

    404 ``index_not_found`` when the index has no version, no source and no upload;
    422 ``source_error`` when its configured folder is missing or its source cannot be listed.
    """
    check_index_name(name)
    live, manifest = _live_manifest(services, name)
    store = services.documents
    bound = services.sources.bindings.get(name) is not None
    if live is None and not bound and not store.has_index(name) and not services.catalog.list_versions(name):
        raise IndexNotFound(f"unknown index {name!r}")
    config = store.get_source(name)
    source = services.sources.listing(name)
    groups = principal.visible_groups(services.settings.default_access_group)
    listed: list[DocumentStatusOut] = []
    for status in store.list_documents(name, manifest, source.files if source else None):
        doc_groups = status_groups(services, name, status, manifest)
        if groups is None or not set(groups).isdisjoint(doc_groups):
            listed.append(_status_out(status, doc_groups))
    return DocumentListing(
        index=name,
        live_version=live,
        source_folder=str(config.folder) if config else None,
        source=source.source if source else None,
        source_revision=source.revision if source else None,
        documents=listed,
    )


@router.put(
    "/{name}/documents/{doc_id:path}",
    response_model=DocumentOut,
    responses={
        201: {"model": DocumentOut, "description": "A new document was uploaded."},
        413: {"model": ErrorBody, "description": "Larger than the upload limit (``upload_too_large``)."},
        415: {"model": ErrorBody, "description": "Unsupported type, or content unlike its name's suffix."},
        422: _ERRORS[422],
    },
)
def put_document(
    name: str,
    doc_id: str,
    file: Annotated[UploadFile, File(description="The document (.md, .txt, .html, .pdf or .docx).")],
    owner: Annotated[Name, Form(min_length=1, max_length=200, description="Who owns the document (not blank).")],
    services: ServicesDep,
    response: Response,
    principal: IndexOwner,
    metadata: Annotated[
        str | None,
        Form(
            description="A JSON object stored as the document's metadata; `owner` above takes precedence. "
            '`access_groups` (e.g. `["hr"]`) names who may see it; default: its folder\'s, else everyone.'
        ),
    ] = None,
) -> DocumentOut:
    """Upload (or replace) a document; it enters the index with the next build.

    A doc_id the caller cannot see (in a retained version, an upload or the source folder) answers
    404 ``document_not_found``, as deleting and reading it do. Replacing a document may give it
    groups it did not have only when the caller is in all of its groups and all the new ones
    (else 403 ``forbidden``). 201 when ``doc_id`` is new, 200 when it replaced an earlier upload.
    An upload of a doc_id also in the source folder takes precedence over the folder's file, and a
    deleted doc_id uploaded again comes back.
    """
    limit = services.documents.upload_max_bytes
    data = file.file.read(limit + 1)  # never more than one byte past the limit
    if len(data) > limit:
        raise PayloadTooLarge(f"upload is larger than the limit of {limit} bytes")
    if not owner.strip():
        raise InvalidInput("owner: must not be blank; name who owns the document")
    try:
        check_name(file.filename or "")
    except ValueError as exc:
        raise InvalidInput(f"file name: {exc}") from exc
    meta = _parse_metadata(metadata)
    if GROUPS_KEY in meta:
        check_assignable(principal, meta[GROUPS_KEY], services.settings.default_access_group)
    check_may_upload(services, principal, name, doc_id, check_upload(file.filename or "", data, limit), meta)
    with services.audit.action(principal, "document.upload", index=name, target=doc_id) as audited:
        stored, created = services.documents.put(name, doc_id, file.filename or "", data, owner=owner, metadata=meta)
        audited.details.update(sha256=stored.sha256, size=stored.size, created=created)
    response.status_code = 201 if created else 200
    return _document_out(stored, services)


@router.delete("/{name}/documents/{doc_id:path}", response_model=DeleteResult, responses=_ERRORS)
def delete_document(
    name: str,
    doc_id: str,
    services: ServicesDep,
    principal: IndexOwner,
    purge: Annotated[bool, Query(description="Also remove its chunks from every retained version now.")] = False,
) -> DeleteResult:
    """Leave a document out of the next build (its upload, if any, is dropped).

    404 ``document_not_found`` unless the doc_id is uploaded, in the source folder, or in the live
    version (with ``purge=true``: in any retained version). Deleting is idempotent, so a failed
    purge can simply be retried.
    """
    check_index_name(name)
    _, manifest = _live_manifest(services, name)
    known = retained_manifests(services, name) if purge else ([manifest] if manifest else [])
    check_can_see(services, principal, name, doc_id, known)
    purged: dict[int, int] | None = None
    with services.audit.action(principal, "document.delete", index=name, target=doc_id) as audited:
        audited.details["purge"] = purge
        deletion = services.documents.delete(name, doc_id, known_in=known)
        if purge:
            from indexes.purge import purge_document  # lazy: the purge module is optional here

            purged = purge_document(services.catalog, services.engine, name, doc_id)
            audited.details["purged"] = purged
    in_live = manifest is not None and any(d.doc_id == doc_id for d in manifest.documents)
    return DeleteResult(
        index=name,
        doc_id=doc_id,
        status="pending_delete" if in_live and not purge else "deleted",
        upload_removed=deletion.upload_removed,
        purged=purged,
    )
