"""Index routes: list indexes and versions, promote a version, roll the alias back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import Admin, Employee
from api.deps import ServicesDep
from api.index_listing import index_summaries
from api.schemas import ErrorBody, IndexSummary, PromoteRequest, PromoteResult, RollbackRequest, VersionOut
from indexes.catalog import VersionInfo
from indexes.health import DAMAGED
from indexes.refs import check_index_name
from indexes.versions import Switch
from rag.access.visibility import restrict_manifest, visible_manifest_json
from rag.errors import IndexNotFound, RagError

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "Unknown index or version."}}


def _version_out(
    info: VersionInfo, live: int | None, groups: list[str] | None, default_group: str, damage: RagError | None
) -> VersionOut:
    m = restrict_manifest(info.manifest, groups, default_group) if info.manifest else None
    error = damage.message if damage is not None else info.error
    return VersionOut(
        index=info.index,
        version=info.version,
        state=DAMAGED if damage is not None else info.state,
        live=info.version == live,
        created_at=info.created_at,
        finished_at=info.finished_at,
        chunk_count=m.chunk_count if m else None,
        document_count=len(m.documents) if m else None,
        error=error if groups is None else None,
        manifest=visible_manifest_json(m, groups, default_group) if m else None,
    )


@router.get("", response_model=list[IndexSummary])
def list_indexes(services: ServicesDep, principal: Employee) -> list[IndexSummary]:
    """Every index with its live version and its canary."""
    return index_summaries(services)


@router.get("/{name}/versions", response_model=list[VersionOut], responses=_NOT_FOUND)
def list_versions(name: str, services: ServicesDep, principal: Employee) -> list[VersionOut]:
    """Every version of an index, newest first, with manifests.

    A caller limited to some access groups sees only their documents in each manifest, counts
    of those alone, and no build totals, file errors or evaluation details.
    """
    check_index_name(name)
    versions = services.catalog.list_versions(name)
    if not versions:
        raise IndexNotFound(f"unknown index {name!r}")
    registry = services.registry
    live = registry.live_version(name) or registry.expected_live(name)
    groups = principal.visible_groups(services.settings.default_access_group)
    default_group = services.settings.default_access_group
    return [_version_out(v, live, groups, default_group, registry.damage(v)) for v in versions]


@router.post(
    "/{name}/promote",
    response_model=PromoteResult,
    responses={
        **_NOT_FOUND,
        409: {
            "model": ErrorBody,
            "description": "Already live (already_live), its gate failed and no force (gate_failed), "
            "or its storage fails a search.",
        },
    },
)
def promote(name: str, body: PromoteRequest, services: ServicesDep, principal: Admin) -> PromoteResult:
    """Point the index's alias at a release (one atomic switch): ``{"release": n}``, or ``{"version": n}``
    for the live release with that index version (prompt, model and settings kept).

    A release whose gate (``POST .../releases/{n}/gate``) failed is refused (409 ``gate_failed``)
    unless ``force`` is true; a release never gated is promoted as before."""
    check_index_name(name)
    registry = services.registry
    target = f"release {body.release}" if body.release is not None else f"v{body.version}"
    with services.audit.action(principal, "promote", index=name, target=target) as audited:
        if body.force:
            audited.details["force"] = True
        if body.release is not None:
            switch = registry.promote_release(name, body.release, actor=principal.name, force=body.force)
        else:
            assert body.version is not None
            before = registry.live_release(name)
            previous = registry.promote(name, body.version, actor=principal.name, force=body.force)
            now = registry.live_release(name)
            assert now is not None
            switch = Switch(now, before.number if before else None, previous)
        audited.details.update(
            previous_version=switch.previous_version, release=switch.release.number, version=switch.release.version
        )
    return _switched(name, switch)


def _switched(name: str, switch: Switch) -> PromoteResult:
    """What a promotion or rollback of the alias ``name`` did, as the API reports it."""
    return PromoteResult(
        index=name,
        alias=name,
        version=switch.release.version,
        previous_version=switch.previous_version,
        release=switch.release.number,
        previous_release=switch.previous_release,
    )


@router.post(
    "/{name}/rollback",
    response_model=PromoteResult,
    responses={**_NOT_FOUND, 409: {"model": ErrorBody, "description": "Nothing to roll back to."}},
)
def rollback(name: str, services: ServicesDep, principal: Admin, body: RollbackRequest | None = None) -> PromoteResult:
    """Return the alias to the previously promoted release (or to the earlier promoted ``release`` given)."""
    check_index_name(name)
    with services.audit.action(principal, "rollback", index=name) as audited:
        to = body.release if body is not None else None
        switch = services.registry.rollback_release(name, actor=principal.name, to=to)
        audited.target = f"v{switch.release.version}"
        audited.details.update(previous_version=switch.previous_version, release=switch.release.number)
    return _switched(name, switch)
