"""Response bodies of ``GET /v1/indexes/{name}/canary``: both arms side by side, the verdict, a timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from rag.canary.policy import CanaryPolicy

__all__ = [
    "ArmOut",
    "CanaryAnalysisOut",
    "CanaryDecisionOut",
    "CanaryRunOut",
    "ComparisonOut",
    "SeriesPoint",
    "VerdictOut",
]


class ArmOut(BaseModel):
    """What one arm served during the run."""

    version: int | None = Field(description="The version the arm names now (null: the canary is gone).")
    questions: int
    answered: int = Field(description="Questions answered (model errors left out).")
    refusal_rate: float | None
    thumbs_down_rate: float | None
    dropped_citation_rate: float | None
    unsupported_rate: float | None = Field(description="Among checked answers (model answers); null: none checked.")
    model_errors: int
    model_error_rate: float | None
    latency_p95_ms: float | None


class ComparisonOut(BaseModel):
    """One metric of both arms and the test's outcome (docs/adr/0020)."""

    metric: str
    live: float | None
    canary: float | None
    difference: float | None = Field(description="Canary minus live; for latency_p95 the ratio canary/live - 1.")
    allowed: float = Field(description="The policy's allowed worsening.")
    p_value: float | None = Field(description="One-sided p-value (null: not tested, e.g. no checked answers).")
    worse: bool


class VerdictOut(BaseModel):
    """The verdict now: ``no_verdict`` (too little traffic), ``worse``, ``holding`` or ``passed``."""

    state: Literal["no_verdict", "worse", "holding", "passed"]
    reason: str
    comparisons: list[ComparisonOut]


class CanaryRunOut(BaseModel):
    """One canary run: from when the canary was set until a decision or its removal."""

    id: int
    version: int = Field(description="The canary's index version (for display; the run is keyed by its release).")
    release: int | None = Field(
        description="The canary release the run judges (null: a run begun before releases, judged by its version)."
    )
    started_at: datetime
    state: str = Field(
        description="running, ready, promoting (the alias is being switched), promoted, rolled_back, removed, "
        "replaced or ended."
    )
    decided_at: datetime | None
    reason: str | None
    deciding_answer_at: datetime | None = Field(description="When the newest answer the decision saw was recorded.")
    policy: CanaryPolicy


class SeriesPoint(BaseModel):
    """Cumulative figures of both arms up to ``at`` (the admin page's chart)."""

    at: datetime
    live_questions: int
    canary_questions: int
    live_refusal_rate: float | None
    canary_refusal_rate: float | None
    live_thumbs_down_rate: float | None
    canary_thumbs_down_rate: float | None


class CanaryDecisionOut(BaseModel):
    """A decision of the canary analysis (or a person's canary change) in the alias history."""

    at: datetime
    alias: str
    action: str
    version: int
    actor: str | None
    reason: str | None


class CanaryAnalysisOut(BaseModel):
    """The index's canary, both arms side by side since it was set, the verdict and the decisions so far."""

    index: str
    alias: str
    canary_version: int | None
    share: float | None
    live_version: int | None
    run: CanaryRunOut | None = Field(description="The latest run (null: no canary was ever measured).")
    live: ArmOut | None
    canary: ArmOut | None
    verdict: VerdictOut | None
    series: list[SeriesPoint]
    decisions: list[CanaryDecisionOut]
