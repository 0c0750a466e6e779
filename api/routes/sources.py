"""Source routes: what an index is built from (folder, Git, S3), its change checks, and the Git push webhook.

Bindings hold secret *names* (``token_secret``, ``credentials_secret``); the values come from the
settings and never reach the catalog or a response. The webhook is authenticated by its signature,
not by an API key: a bad or missing signature answers 401, a push of a repository no index is bound
to answers 202 with nothing queued (the same answer as a push that queued builds, minus the jobs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field, RootModel, model_validator

from api.auth import Admin, IndexOwner
from api.deps import ServicesDep
from api.schemas import ErrorBody
from indexes.refs import check_index_name
from ingest.sources.specs import AnySpec, FolderSpec, SourceSpec
from ingest.sources.webhooks import bound_indexes, parse_push, verify_signature
from rag.access.errors import Unauthorized
from rag.access.principal import ALL, Principal
from rag.wiring import Services

__all__ = ["HookAccepted", "SourceOut", "SourceRequest", "hooks_router", "router"]

router = APIRouter(prefix="/v1/indexes", tags=["sources"])
hooks_router = APIRouter(prefix="/v1/hooks", tags=["sources"])

_HOOK_ACTOR = Principal(key_id="webhook", name="webhook:git", role="admin", groups=[ALL], indexes=[ALL])


class SourceRequest(RootModel[SourceSpec]):
    """``{kind: folder|git|s3|confluence, ...}``; ``{"folder": "..."}`` without a kind still means a folder."""

    @model_validator(mode="before")
    @classmethod
    def _folder_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" not in data and "folder" in data:
            return {**data, "kind": "folder"}
        return data


class SourceOut(BaseModel):
    """An index's source: its kind and spec (secret names only), the folder for folder sources, and the
    state of its change checks (null: never)."""

    index: str
    kind: str | None
    folder: str | None
    spec: dict[str, Any] | None
    updated_at: datetime | None
    every: str | None = None
    next_check_at: datetime | None = None
    last_check_at: datetime | None = None
    last_change_at: datetime | None = None
    last_revision: str | None = None
    last_error: str | None = None


class HookAccepted(BaseModel):
    """What a push did: the jobs that will build the bound indexes (a job joined by a burst is listed again)."""

    jobs: list[str] = Field(description="Job ids queued or joined, one per bound index.")


def _source_out(services: Services, index: str) -> SourceOut:
    binding = services.sources.bindings.get(index)
    spec: AnySpec | None = binding.spec if binding else services.sources.spec_for(index)
    if spec is None:
        return SourceOut(index=index, kind=None, folder=None, spec=None, updated_at=None)
    folder_config = services.documents.get_source(index)
    updated = binding.updated_at if binding else (folder_config.updated_at if folder_config else None)
    return SourceOut(
        index=index,
        kind=spec.kind,
        folder=str(folder_config.folder) if isinstance(spec, FolderSpec) and folder_config else None,
        spec=spec.model_dump(),
        updated_at=updated,
        every=spec.every,
        next_check_at=binding.next_check_at if binding else None,
        last_check_at=binding.last_check_at if binding else None,
        last_change_at=binding.last_change_at if binding else None,
        last_revision=binding.last_revision if binding else None,
        last_error=binding.last_error if binding else None,
    )


@router.put("/{name}/source", response_model=SourceOut, responses={422: {"model": ErrorBody}})
def put_source(name: str, body: SourceRequest, services: ServicesDep, principal: Admin) -> SourceOut:
    """Build the index from this source from the next build on (admins only: folders and repositories are
    read by the server). 422 ``source_error`` for a missing folder or an unknown secret name; nothing changes."""
    check_index_name(name)
    spec = body.root
    target = {"folder": "folder", "git": "url", "s3": "bucket", "confluence": "base_url"}[spec.kind]
    target = str(getattr(spec, target))
    with services.audit.action(principal, "source.set", index=name, target=target) as audited:
        audited.details.update(kind=spec.kind, every=spec.every)
        services.sources.bind(name, spec)
    return _source_out(services, name)


@router.get("/{name}/source", response_model=SourceOut, responses={422: {"model": ErrorBody}})
def get_source(name: str, services: ServicesDep, principal: IndexOwner) -> SourceOut:
    """The index's source and the state of its change checks (``kind`` null when none is configured)."""
    check_index_name(name)
    return _source_out(services, name)


@hooks_router.post(
    "/git",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=HookAccepted,
    responses={
        401: {"model": ErrorBody, "description": "Missing or wrong signature."},
        422: {"model": ErrorBody, "description": "A signed body that is not a JSON push event."},
    },
)
async def git_push(request: Request, services: ServicesDep) -> HookAccepted:
    """A GitHub, Gitea or GitLab push: queues an incremental build of every index bound to the repository and
    branch (one build per index however many pushes arrive before it starts), with the binding's promotion
    policy; its job's ``trigger`` names the push. Signed with ``RAG_WEBHOOK_SECRET`` (HMAC-SHA256 in
    ``X-Hub-Signature-256``, or GitLab's ``X-Gitlab-Token``)."""
    body = await request.body()
    secret = services.settings.webhook_secret
    provider = verify_signature(request.headers, body, secret.get_secret_value() if secret else None)
    if provider is None:
        raise Unauthorized("missing or wrong webhook signature (X-Hub-Signature-256 or X-Gitlab-Token)")
    event = request.headers.get("x-github-event") or request.headers.get("x-gitea-event")
    event = event or request.headers.get("x-gitlab-event", "")
    if event.lower() not in ("push", "push hook"):
        return HookAccepted(jobs=[])  # pings and other events: accepted, nothing to build
    push = parse_push(provider, body)
    jobs = services.jobs
    assert jobs is not None
    queued: list[str] = []
    for index in bound_indexes(push, services.sources.bindings.all()):
        binding = services.sources.bindings.get(index)
        assert binding is not None
        trigger = f"webhook:{provider} push {push.after[:12]}".strip()
        job, new = jobs.trigger.request(index, binding.spec.promote, trigger)
        services.audit.record(
            _HOOK_ACTOR, "build.request", "ok", index=index, target=job.job_id, details={"trigger": trigger, "new": new}
        )
        queued.append(job.job_id)
    return HookAccepted(jobs=queued)
