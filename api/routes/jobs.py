"""Build jobs over HTTP: start a build of an index, follow it, list jobs, cancel one."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import IndexOwner, Owner
from api.deps import ServicesDep
from api.fields import Name
from api.schemas import ErrorBody
from indexes.refs import check_index_name
from ingest.jobs.store import Job
from rag.access.errors import Forbidden
from rag.access.jobs import visible_job
from rag.errors import Conflict, NotFound, RagError
from rag.wiring import JobServices, Services

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["jobs"])


class JobNotFound(NotFound):
    code = "job_not_found"


class BuildRequest(BaseModel):
    """A reindex request; without ``source`` the index's configured folder and uploads are built."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mode: Literal["incremental", "full"] = Field(
        "incremental", description="incremental reuses unchanged chunks' vectors; full embeds everything."
    )
    promote: Literal["never", "if_gate_passes", "always"] = "if_gate_passes"
    source: Name | None = Field(
        None, max_length=4096, description="A folder to build instead of the configured sources."
    )


class JobAccepted(BaseModel):
    job_id: str
    state: str
    url: str


def _jobs(services: Services) -> JobServices:
    if services.jobs is None:  # pragma: no cover - always wired by build_services
        raise RagError("build jobs are not configured")
    return services.jobs


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown job."},
    409: {"model": ErrorBody, "description": "The job already finished."},
}


@router.post(
    "/indexes/{name}/builds",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses={422: {"model": ErrorBody, "description": "Invalid index name or request."}},
)
def start_build(
    name: str, body: BuildRequest, services: ServicesDep, response: Response, principal: IndexOwner
) -> JobAccepted:
    """Queue a build of a new version; follow it at ``/v1/jobs/{job_id}``.

    Owners of the index may build it from its configured sources; only admins may name another
    ``source`` folder (a path on the server).
    """
    check_index_name(name)
    if body.source is not None and principal.role != "admin":
        raise Forbidden("only admins may build from another source folder")
    jobs = _jobs(services)
    with services.audit.action(principal, "build.request", index=name) as audited:
        audited.details.update(mode=body.mode, promote=body.promote, source=body.source)
        job = jobs.store.create(name, body.mode, body.promote, body.source, trigger=f"api:{principal.name}")
        jobs.queue.enqueue(job.job_id)
        audited.target = job.job_id
    url = f"/v1/jobs/{job.job_id}"
    response.headers["Location"] = url
    return JobAccepted(job_id=job.job_id, state=job.state, url=url)


@router.get("/jobs/{job_id}", response_model=Job, responses=_ERRORS)
def get_job(job_id: str, services: ServicesDep, principal: Owner) -> Job:
    """A job's state, progress, result (version, chunks embedded vs reused, errors, gate) and timings.

    Owners see jobs of their indexes; a caller limited to some access groups sees no file names
    and only the counts of documents in its groups.
    """
    job = _jobs(services).store.get(job_id)
    if job is None:
        raise JobNotFound(f"unknown job {job_id!r}")
    return visible_job(services, principal, job)


@router.get("/jobs", response_model=list[Job])
def list_jobs(
    services: ServicesDep,
    principal: Owner,
    index: str | None = Query(None, description="Only jobs of this index."),
    limit: int = Query(50, ge=1, le=500),
) -> list[Job]:
    """Jobs of the indexes the caller owns, newest first."""
    jobs = [j for j in _jobs(services).store.list_jobs(index, limit) if principal.owns(j.index)]
    return [visible_job(services, principal, j) for j in jobs]


@router.post("/jobs/{job_id}/cancel", response_model=Job, responses=_ERRORS)
def cancel_job(job_id: str, services: ServicesDep, principal: Owner) -> Job:
    """Cancel a queued job now, or ask a running one to stop (it leaves no half-built version)."""
    store = _jobs(services).store
    before = store.get(job_id)
    if before is None:
        raise JobNotFound(f"unknown job {job_id!r}")
    visible_job(services, principal, before)
    with services.audit.action(principal, "build.cancel", index=before.index, target=job_id):
        if before.state not in ("queued", "running"):
            raise Conflict(f"job {job_id} already {before.state}")
        job = store.request_cancel(job_id)
        assert job is not None
    return visible_job(services, principal, job)
