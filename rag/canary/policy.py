"""The canary policy: when a verdict may be given, how much worse a canary may be, and what happens then.

The defaults come from settings (``RAG_CANARY_*``); ``POST /v1/indexes/{name}/canary`` may override
any field for that canary. Proportions are allowed to worsen by an absolute difference (``0.02``:
two percentage points); ``latency_p95`` by a ratio (``0.5``: a p95 half again as long).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = [
    "DEFAULT_MAX_WORSENING",
    "METRICS",
    "PROPORTIONS",
    "CanaryPolicy",
    "CanaryPolicyOverride",
    "Metric",
    "check_worsening",
    "policy_from_settings",
]

Metric = Literal[
    "refusal_rate", "thumbs_down_rate", "dropped_citation_rate", "unsupported_rate", "model_error_rate", "latency_p95"
]
PROPORTIONS: tuple[Metric, ...] = (
    "refusal_rate",
    "thumbs_down_rate",
    "dropped_citation_rate",
    "unsupported_rate",
    "model_error_rate",
)
"""The metrics that are shares of an arm's questions, compared by the proportion test."""
METRICS: tuple[Metric, ...] = (*PROPORTIONS, "latency_p95")

DEFAULT_MAX_WORSENING: dict[str, float] = {
    "refusal_rate": 0.02,
    "thumbs_down_rate": 0.02,
    "dropped_citation_rate": 0.02,
    "unsupported_rate": 0.02,
    "model_error_rate": 0.01,
    "latency_p95": 0.5,
}
"""Allowed worsening per metric: absolute for the rates, a ratio for ``latency_p95``."""

_MAX_DURATION_S = 30 * 24 * 3600.0


class CanaryPolicyOverride(BaseModel):
    """Fields of the canary policy to change for one canary (the rest come from settings)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    min_questions: int | None = Field(
        None, ge=1, le=10_000_000, description="Questions each arm must answer before any verdict."
    )
    min_duration_s: float | None = Field(
        None,
        ge=0,
        le=_MAX_DURATION_S,
        allow_inf_nan=False,
        description="Seconds the canary must run before it can pass (a worse canary is removed sooner).",
    )
    max_worsening: dict[Metric, float] | None = Field(
        None,
        description="Allowed worsening per metric (rates: absolute, 0.02 = 2 points; latency_p95: ratio, 0.5 = +50%); "
        "metrics not named keep the default.",
    )
    confidence: float | None = Field(
        None,
        ge=0.5,
        le=0.999,
        allow_inf_nan=False,
        description="Confidence of the one-sided tests (0.95: a canary is called worse at p < 0.05).",
    )
    auto_promote: bool | None = Field(None, description="Promote a canary that passes; false: mark it ready.")

    @field_validator("max_worsening")
    @classmethod
    def _in_range(cls, value: dict[Metric, float] | None) -> dict[Metric, float] | None:
        return None if value is None else check_worsening(value)


class CanaryPolicy(BaseModel):
    """A complete canary policy, as a canary runs under it."""

    model_config = ConfigDict(frozen=True)

    min_questions: int
    min_duration_s: float
    max_worsening: dict[Metric, float]
    confidence: float
    auto_promote: bool

    def with_override(self, override: CanaryPolicyOverride | None) -> CanaryPolicy:
        """This policy with the fields ``override`` sets replaced (``max_worsening`` merged per metric)."""
        if override is None:
            return self
        fields = override.model_dump(exclude_none=True)
        worsening = {**self.max_worsening, **fields.pop("max_worsening", {})}
        return self.model_copy(update={**fields, "max_worsening": worsening})


def check_worsening(values: Mapping[Any, float]) -> dict[Metric, float]:
    """``values`` if every key is a metric and every value in range (rates 0..1, latency_p95 0..10);
    ValueError naming the first problem otherwise."""
    checked: dict[Metric, float] = {}
    for metric, value in values.items():
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
        if not isinstance(value, int | float) or not 0 <= value <= (10.0 if metric == "latency_p95" else 1.0):
            raise ValueError(f"max_worsening.{metric} is {value!r}: use 0..1 for a rate, 0..10 for latency_p95")
        checked[metric] = float(value)
    return checked


def policy_from_settings(settings: Settings) -> CanaryPolicy:
    """The default policy the settings describe."""
    return CanaryPolicy(
        min_questions=settings.canary_min_questions,
        min_duration_s=settings.canary_min_duration_s,
        max_worsening=check_worsening({**DEFAULT_MAX_WORSENING, **settings.canary_max_worsening}),
        confidence=settings.canary_confidence,
        auto_promote=settings.canary_auto_promote,
    )
