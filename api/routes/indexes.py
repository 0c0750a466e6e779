"""Index routes: list indexes and versions, promote a version, roll the alias back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep
from api.schemas import ErrorBody, IndexSummary, PromoteRequest, PromoteResult, VersionOut
from indexes.catalog import VersionInfo
from indexes.refs import check_index_name
from rag.errors import IndexNotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "Unknown index or version."}}


def _version_out(info: VersionInfo, live: int | None) -> VersionOut:
    m = info.manifest
    return VersionOut(
        index=info.index,
        version=info.version,
        state=info.state,
        live=info.version == live,
        created_at=info.created_at,
        finished_at=info.finished_at,
        chunk_count=m.chunk_count if m else None,
        document_count=len(m.documents) if m else None,
        error=info.error,
        manifest=m.model_dump(mode="json") if m else None,
    )


@router.get("", response_model=list[IndexSummary])
def list_indexes(services: ServicesDep) -> list[IndexSummary]:
    """Every index with its live version and its canary."""
    out = []
    for name in services.catalog.list_indexes():
        versions = services.catalog.list_versions(name)
        canary = services.registry.canary(name)
        out.append(
            IndexSummary(
                name=name,
                alias=name,
                live_version=services.registry.live_version(name),
                versions=len(versions),
                latest_version=versions[0].version if versions else None,
                canary_version=canary.version if canary else None,
                canary_share=canary.share if canary else None,
            )
        )
    return out


@router.get("/{name}/versions", response_model=list[VersionOut], responses=_NOT_FOUND)
def list_versions(name: str, services: ServicesDep) -> list[VersionOut]:
    """Every version of an index, newest first, with manifests."""
    check_index_name(name)
    versions = services.catalog.list_versions(name)
    if not versions:
        raise IndexNotFound(f"unknown index {name!r}")
    live = services.registry.live_version(name)
    return [_version_out(v, live) for v in versions]


@router.post("/{name}/promote", response_model=PromoteResult, responses=_NOT_FOUND)
def promote(name: str, body: PromoteRequest, services: ServicesDep) -> PromoteResult:
    """Point the index's alias at a ready version (one atomic switch)."""
    check_index_name(name)
    previous = services.registry.promote(name, body.version)
    return PromoteResult(index=name, alias=name, version=body.version, previous_version=previous)


@router.post(
    "/{name}/rollback",
    response_model=PromoteResult,
    responses={**_NOT_FOUND, 409: {"model": ErrorBody, "description": "Nothing to roll back to."}},
)
def rollback(name: str, services: ServicesDep) -> PromoteResult:
    """Return the alias to the previously promoted version."""
    check_index_name(name)
    previous, version = services.registry.rollback(name)
    return PromoteResult(index=name, alias=name, version=version, previous_version=previous)
