"""GET /v1/indexes/{name}/canary: the canary's two arms side by side, with the verdict (admins)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from api.auth import Admin
from api.canary_schemas import (
    ArmOut,
    CanaryAnalysisOut,
    CanaryDecisionOut,
    CanaryRunOut,
    ComparisonOut,
    SeriesPoint,
    VerdictOut,
)
from api.deps import ServicesDep
from api.schemas import ErrorBody
from indexes.canary import canary_alias
from indexes.refs import check_index_name
from rag.canary.runs import Tally
from rag.canary.series import cumulative_series
from rag.canary.stats import p95
from rag.canary.watch import CanaryStatus
from rag.errors import IndexNotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])


def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def _arm(tally: Tally, latencies: list[float], version: int | None) -> ArmOut:
    return ArmOut(
        version=version,
        questions=tally.questions,
        answered=tally.answered,
        refusal_rate=_rate(tally.refused, tally.answered),
        thumbs_down_rate=_rate(tally.thumbs_down, tally.answered),
        dropped_citation_rate=_rate(tally.dropped, tally.answered),
        unsupported_rate=_rate(tally.unsupported, tally.checked),
        model_errors=tally.model_errors,
        model_error_rate=_rate(tally.model_errors, tally.questions),
        latency_p95_ms=p95(latencies),
    )


def _series(services: ServicesDep, status: CanaryStatus) -> list[SeriesPoint]:
    run = status.run
    if run is None:
        return []
    end = run.decided_at or datetime.now(UTC)
    points = cumulative_series(services.canary.runs.timeline(run.id), run.started_at, end)
    return [
        SeriesPoint(
            at=p.at,
            live_questions=p.questions["live"],
            canary_questions=p.questions["canary"],
            live_refusal_rate=p.rate(p.refused, "live"),
            canary_refusal_rate=p.rate(p.refused, "canary"),
            live_thumbs_down_rate=p.rate(p.thumbs_down, "live"),
            canary_thumbs_down_rate=p.rate(p.thumbs_down, "canary"),
        )
        for p in points
    ]


@router.get(
    "/{name}/canary",
    response_model=CanaryAnalysisOut,
    responses={404: {"model": ErrorBody, "description": "Unknown index."}},
)
def canary_analysis(name: str, services: ServicesDep, principal: Admin) -> CanaryAnalysisOut:
    """The canary (if any), both arms measured on the traffic each answered since the canary was set,
    each metric's test, the verdict now, a timeline for the chart, and the decisions in the alias history."""
    check_index_name(name)
    if not services.catalog.list_versions(name):
        raise IndexNotFound(f"unknown index {name!r}")
    status = services.canary.status(name)
    run, canary, live_version = status.run, status.canary, services.registry.live_version(name)
    verdict = status.verdict
    return CanaryAnalysisOut(
        index=name,
        alias=canary_alias(name),
        canary_version=canary.version if canary else None,
        share=canary.share if canary else None,
        live_version=live_version,
        run=None
        if run is None
        else CanaryRunOut(
            id=run.id,
            version=run.version,
            release=run.release,
            started_at=run.started_at,
            state=run.state,
            decided_at=run.decided_at,
            reason=run.reason,
            deciding_answer_at=run.deciding_answer_at,
            policy=run.policy,
        ),
        live=None if run is None else _arm(status.tallies["live"], status.latencies["live"], live_version),
        canary=None
        if run is None
        else _arm(status.tallies["canary"], status.latencies["canary"], canary.version if canary else None),
        verdict=None
        if verdict is None
        else VerdictOut(
            state=verdict.state,
            reason=verdict.reason,
            comparisons=[
                ComparisonOut(
                    metric=c.metric,
                    live=c.live,
                    canary=c.canary,
                    difference=c.difference,
                    allowed=c.allowed,
                    p_value=c.p_value,
                    worse=c.worse,
                )
                for c in verdict.comparisons
            ],
        ),
        series=_series(services, status),
        decisions=[
            CanaryDecisionOut(
                at=e.at, alias=e.alias, action=e.action, version=e.version, actor=e.actor, reason=e.reason
            )
            for e in status.decisions
        ],
    )
