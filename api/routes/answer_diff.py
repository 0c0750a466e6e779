"""``GET /v1/indexes/{name}/versions/{version}/answer-diff``: the golden set answered on the live version
and on this candidate, as the gate kept it.

Owners of the index and admins (the same people who build and promote it). The summary reads
"7 answers change, 2 lose their expected source, 1 newly refused"; the items show each question's
two answers side by side. A caller limited to some access groups sees only the questions whose
documents are all in their groups, and the summary counts those.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import IndexOwner
from api.deps import ServicesDep
from api.fields import VersionPath
from api.schemas import ErrorBody
from indexes.refs import check_index_name
from rag.access.answer_diffs import visible_answer_diff
from rag.access.history import document_filter
from rag.access.principal import Principal
from rag.errors import AnswerDiffNotFound, IndexNotFound, VersionNotFound
from rag.evaluation.answer_diff import AnswerDiffItem, AnswerDiffSummary, summarize
from rag.evaluation.golden_stale import StaleQuestion
from rag.wiring import Services

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorBody,
        "description": "Unknown index or version, or the version was not gated with an answer diff "
        "(`answer_diff_not_found`).",
    },
}


class AnswerDiffOut(BaseModel):
    """A version's answer diff against the version that was live when it was gated."""

    index: str
    version: int
    live_version: int
    answerer: str = Field(description="provider/model that answered on both sides.")
    golden: dict[str, Any] = Field(description="The golden set's file name, digest and match mode.")
    thresholds: dict[str, int | None] = Field(description="The gate's thresholds in force (counts of questions).")
    passed: bool = Field(description="Whether the answers were within the thresholds.")
    summary: AnswerDiffSummary
    stale: list[StaleQuestion] = Field(description="Golden questions whose expected passage changed.")
    items: list[AnswerDiffItem]


def _answer_diff(
    services: Services, principal: Principal, name: str, version: int, changed_only: bool
) -> AnswerDiffOut:
    check_index_name(name)
    catalog = services.catalog
    info = catalog.get_version(name, version)
    if info is None or info.manifest is None:
        if not catalog.list_versions(name):
            raise IndexNotFound(f"unknown index {name!r}")
        raise VersionNotFound(f"{name}@{version} does not exist or is not built")
    diff = services.answer_diffs.get(name, version)
    if diff is None:
        raise AnswerDiffNotFound(
            f"{name}@{version} was not gated with an answer diff (no live version or no golden set)"
        )
    manifests = [info.manifest]
    live = catalog.get_version(name, int(diff["live_version"]))
    if live is not None and live.manifest is not None:
        manifests.append(live.manifest)
    default_group = services.settings.default_access_group
    restricted = principal.visible_groups(default_group) is not None
    items, stale = visible_answer_diff(
        diff, manifests, document_filter(principal, default_group), restricted=restricted
    )
    parsed = [AnswerDiffItem.model_validate(i) for i in items]
    return AnswerDiffOut(
        index=name,
        version=version,
        live_version=int(diff["live_version"]),
        answerer=str(diff.get("answerer", "")),
        golden=dict(diff.get("golden", {})),
        thresholds=dict(diff.get("thresholds", {})),
        passed=bool(diff.get("passed")),
        summary=summarize(parsed) if restricted else AnswerDiffSummary.model_validate(diff["summary"]),
        stale=[StaleQuestion.model_validate(s) for s in stale],
        items=[i for i in parsed if i.changed] if changed_only else parsed,
    )


@router.get("/{name}/versions/{version}/answer-diff", response_model=AnswerDiffOut, responses=_ERRORS)
async def answer_diff_route(
    name: str,
    version: VersionPath,
    services: ServicesDep,
    principal: IndexOwner,
    changed_only: Annotated[bool, Query(description="Only the questions whose answer changed.")] = False,
) -> AnswerDiffOut:
    """The summary ("7 answers change, 2 lose their expected source, 1 newly refused"), the stale golden
    questions and each question's live and candidate answers side by side."""
    return await run_in_threadpool(_answer_diff, services, principal, name, version, changed_only)
