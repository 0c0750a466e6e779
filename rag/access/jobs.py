"""Job rules: a build job is seen only by owners of its index, its results cut to their access groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.jobs.store import Job
from rag.access.errors import Forbidden
from rag.access.principal import Principal
from rag.access.visibility import restrict_job_result

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = ["visible_job"]


def visible_job(services: Services, principal: Principal, job: Job) -> Job:
    """The job as the caller may see it: ``Forbidden`` unless it owns the job's index.

    A caller limited to some access groups sees only the stage of the progress, and results with
    no file names and the counts of the documents in its groups.
    """
    if not principal.owns(job.index):
        raise Forbidden(f"{principal.label} does not own the index {job.index!r}")
    groups = principal.visible_groups(services.settings.default_access_group)
    if groups is None:
        return job
    # Progress counts the documents and chunks of every group: a restricted caller sees the stage only.
    progress = {k: v for k, v in job.progress.items() if k == "stage"}
    if job.result is None:
        return job.model_copy(update={"progress": progress})
    version = job.result.get("version")
    info = services.catalog.get_version(job.index, version) if isinstance(version, int) else None
    manifest = info.manifest if info is not None else None
    result = restrict_job_result(job.result, manifest, groups, services.settings.default_access_group)
    return job.model_copy(update={"result": result, "progress": progress})
