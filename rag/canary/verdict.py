"""Both arms of a canary run compared under its policy: no verdict yet, worse, holding, or passed.

- ``no_verdict``: an arm has answered fewer than ``min_questions`` questions; nothing is decided.
- ``worse``: with enough questions, at least one metric is worse beyond the policy (see
  :mod:`rag.canary.stats`): the canary is removed at once, whatever the duration.
- ``holding``: enough questions and nothing worse, but ``min_duration_s`` has not passed.
- ``passed``: enough questions, the duration has passed, nothing worse: promoted when the policy
  says ``auto_promote``, else marked ready for a person.

Rates are per arm: refusals, thumbs-down and dropped citations per answered question, unsupported
answers per checked answer (answers of a model; extractive answers are not checked, so the metric
is left untested when an arm has none), model errors per question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rag.canary.arms import Arm
from rag.canary.runs import Run, Tally
from rag.canary.stats import Comparison, compare_latency, compare_proportions

__all__ = ["Verdict", "VerdictState", "judge"]

VerdictState = Literal["no_verdict", "worse", "holding", "passed"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of comparing both arms, with a sentence saying why, and every metric's comparison."""

    state: VerdictState
    reason: str
    comparisons: list[Comparison] = field(default_factory=list)
    deciding_answer_at: datetime | None = None
    """The newest observation the verdict saw (the deciding answer, for ``worse`` and ``passed``)."""


def _rates(tallies: Mapping[Arm, Tally], run: Run) -> list[Comparison]:
    live, canary = tallies["live"], tallies["canary"]
    policy = run.policy
    margin, confidence = policy.max_worsening, policy.confidence

    def test(metric: str, c_x: int, c_n: int, l_x: int, l_n: int) -> Comparison:
        return compare_proportions(metric, c_x, c_n, l_x, l_n, margin[metric], confidence)  # type: ignore[index]

    return [
        test("refusal_rate", canary.refused, canary.answered, live.refused, live.answered),
        test("thumbs_down_rate", canary.thumbs_down, canary.answered, live.thumbs_down, live.answered),
        test("dropped_citation_rate", canary.dropped, canary.answered, live.dropped, live.answered),
        test("unsupported_rate", canary.unsupported, canary.checked, live.unsupported, live.checked),
        test("model_error_rate", canary.model_errors, canary.questions, live.model_errors, live.questions),
    ]


def _describe(c: Comparison) -> str:
    if c.metric == "latency_p95":
        return (
            f"latency p95 {c.canary:.0f} ms vs {c.live:.0f} ms live (+{(c.difference or 0) * 100:.0f}%, "
            f"allowed +{c.allowed * 100:.0f}%; p={c.p_value:.2g})"
        )
    return (
        f"{c.metric.replace('_', ' ')} {c.canary:.3f} vs {c.live:.3f} live (+{(c.difference or 0) * 100:.1f} points, "
        f"allowed +{c.allowed * 100:.1f}; p={c.p_value:.2g})"
    )


def judge(run: Run, tallies: Mapping[Arm, Tally], latencies: Mapping[Arm, Sequence[float]], now: datetime) -> Verdict:
    """The verdict on ``run`` at ``now`` from both arms' tallies and latencies."""
    policy = run.policy
    live, canary = tallies["live"], tallies["canary"]
    newest = max((t.last_at for t in (live, canary) if t.last_at is not None), default=None)
    if live.questions < policy.min_questions or canary.questions < policy.min_questions:
        return Verdict(
            "no_verdict",
            f"too little traffic: live {live.questions}, canary {canary.questions} of "
            f"{policy.min_questions} questions per arm",
            deciding_answer_at=newest,
        )
    comparisons = _rates(tallies, run)
    comparisons.append(
        compare_latency(latencies["canary"], latencies["live"], policy.max_worsening["latency_p95"], policy.confidence)
    )
    worse = [c for c in comparisons if c.worse]
    alpha = 1 - policy.confidence
    if worse:
        reasons = "; ".join(_describe(c) for c in worse)
        return Verdict("worse", f"worse than live at p < {alpha:.3g}: {reasons}", comparisons, newest)
    ran = (now - run.started_at).total_seconds()
    counts = f"live {live.questions}, canary {canary.questions} questions"
    if ran < policy.min_duration_s:
        return Verdict(
            "holding",
            f"no metric worse beyond the policy ({counts}); {ran:.0f} of {policy.min_duration_s:.0f} s run",
            comparisons,
            newest,
        )
    return Verdict(
        "passed",
        f"held for {ran:.0f} s with {counts}: no metric worse beyond the policy at p < {alpha:.3g}",
        comparisons,
        newest,
    )
