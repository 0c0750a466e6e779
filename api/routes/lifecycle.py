"""Version lifecycle routes: diff two versions, set or remove the canary, run retention."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import Admin, Employee
from api.deps import ServicesDep
from api.fields import MAX_VERSION
from api.schemas import (
    CanaryOut,
    CanaryRemoved,
    CanaryRequest,
    DocumentChangeOut,
    ErrorBody,
    RetentionRequest,
    RetentionResult,
    VersionDiffOut,
)
from indexes.canary import canary_alias
from indexes.diff import DocumentChange
from indexes.refs import check_index_name
from indexes.retention import apply_retention
from rag.access.visibility import visible_version_diff

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "Unknown index or version."}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "No live version, or the version is already live."}
}


def _change_out(change: DocumentChange) -> DocumentChangeOut:
    return DocumentChangeOut(**dataclasses.asdict(change))


@router.get("/{name}/diff", response_model=VersionDiffOut, responses=_NOT_FOUND)
def diff(
    name: str,
    services: ServicesDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION, description="The older version.")],
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION, description="The newer version.")],
    principal: Employee,
) -> VersionDiffOut:
    """Documents added, changed and removed between two versions, from their manifests.

    Only documents in the caller's access groups are compared and counted.
    """
    check_index_name(name)
    groups = principal.visible_groups(services.settings.default_access_group)
    d = visible_version_diff(
        services.catalog, name, from_version, to_version, groups, services.settings.default_access_group
    )
    return VersionDiffOut(
        index=d.index,
        from_version=d.from_version,
        to_version=d.to_version,
        added=[_change_out(c) for c in d.added],
        changed=[_change_out(c) for c in d.changed],
        removed=[_change_out(c) for c in d.removed],
        unchanged=d.unchanged,
        from_chunks=d.from_chunks,
        to_chunks=d.to_chunks,
    )


@router.post("/{name}/canary", response_model=CanaryOut, responses={**_NOT_FOUND, **_CONFLICT})
def set_canary(name: str, body: CanaryRequest, services: ServicesDep, principal: Admin) -> CanaryOut:
    """Point ``<name>:canary`` at a release (``{"release": n}``, or ``{"version": n}``: the live release
    with that index version) that answers ``share`` of unpinned questions.

    The canary is measured against live from now on under ``policy`` (the settings' canary policy with
    the fields given here) and removed, promoted or marked ready by it (``GET .../canary``).
    """
    check_index_name(name)
    target = f"release {body.release}" if body.release is not None else f"v{body.version}"
    with services.audit.action(principal, "canary.set", index=name, target=target) as audited:
        audited.details["share"] = body.share
        policy = services.canary.defaults.with_override(body.policy)  # checked before anything moves
        audited.details["policy"] = policy.model_dump()
        if body.release is not None:
            canary = services.registry.set_canary_release(name, body.release, body.share, actor=principal.name)
        else:
            assert body.version is not None
            canary = services.registry.set_canary(name, body.version, body.share)
        audited.details["release"] = canary.release
        services.canary.begin(canary, policy)
    return CanaryOut(index=name, alias=canary.alias, version=canary.version, share=canary.share, release=canary.release)


@router.delete("/{name}/canary", response_model=CanaryRemoved, responses=_NOT_FOUND)
def remove_canary(name: str, services: ServicesDep, principal: Admin) -> CanaryRemoved:
    """Remove the canary: every unpinned question goes to the live version again (idempotent)."""
    check_index_name(name)
    with services.audit.action(principal, "canary.remove", index=name) as audited:
        removed = services.registry.remove_canary(name)
        services.canary.end(name, "removed", f"removed by {principal.name}")
        audited.target = f"v{removed.version}" if removed else None
    return CanaryRemoved(
        index=name,
        alias=canary_alias(name),
        version=removed.version if removed else None,
        share=removed.share if removed else None,
    )


@router.post("/{name}/retention", response_model=RetentionResult, responses=_NOT_FOUND)
def retention(
    name: str, services: ServicesDep, principal: Admin, body: RetentionRequest | None = None
) -> RetentionResult:
    """Drop the storage of ready versions beyond the newest ``keep`` that no alias names and that were
    not live within the last ``keep_days`` days; their manifests stay listed."""
    check_index_name(name)
    keep = body.keep if body is not None and body.keep is not None else services.settings.retain_versions
    days = body.keep_days if body is not None and body.keep_days is not None else services.settings.retain_live_days
    with services.audit.action(principal, "retention", index=name) as audited:
        audited.details.update(keep=keep, keep_days=days)
        dropped = apply_retention(services.catalog, services.engine, services.registry, name, keep, days)
        audited.details["dropped"] = dropped
    return RetentionResult(index=name, keep=keep, keep_days=days, dropped=dropped)
