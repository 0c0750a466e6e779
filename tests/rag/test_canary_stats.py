"""The canary analysis's tests and verdicts, on counts whose outcome is known."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from rag.canary.arms import Arm
from rag.canary.policy import CanaryPolicy, CanaryPolicyOverride
from rag.canary.runs import Run, Tally
from rag.canary.stats import compare_latency, compare_proportions
from rag.canary.verdict import judge
from rag.settings import Settings

POLICY = CanaryPolicy(
    min_questions=50,
    min_duration_s=600,
    max_worsening={
        "refusal_rate": 0.02,
        "thumbs_down_rate": 0.02,
        "dropped_citation_rate": 0.02,
        "unsupported_rate": 0.02,
        "model_error_rate": 0.01,
        "latency_p95": 0.5,
    },
    confidence=0.95,
    auto_promote=False,
)
START = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_proportion_test_is_the_adjusted_wald_statistic_with_its_margin() -> None:
    c = compare_proportions("refusal_rate", 30, 100, 10, 100, 0.05, 0.95)
    pc, pl = 31 / 102, 11 / 102
    z = (pc - pl - 0.05) / math.sqrt(pc * (1 - pc) / 102 + pl * (1 - pl) / 102)
    assert c.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    assert c.worse and c.difference == pytest.approx(0.2)


def test_equal_rates_and_small_differences_within_the_margin_are_not_worse() -> None:
    assert not compare_proportions("refusal_rate", 10, 100, 10, 100, 0.02, 0.95).worse
    assert compare_proportions("refusal_rate", 10, 100, 10, 100, 0.0, 0.95).p_value == pytest.approx(0.5)
    # 3 of 20 against 1 of 20: a bare ratio says three times worse; the test says not shown
    assert not compare_proportions("thumbs_down_rate", 3, 20, 1, 20, 0.02, 0.95).worse
    # an arm without questions is not tested
    empty = compare_proportions("unsupported_rate", 0, 0, 2, 40, 0.02, 0.95)
    assert (empty.p_value, empty.worse, empty.canary) == (None, False, None)


def test_latency_is_worse_only_when_p95_and_the_rank_test_both_say_so() -> None:
    live = [100.0 + i for i in range(60)]
    assert compare_latency([3 * x for x in live], live, 0.5, 0.95).worse
    assert not compare_latency([1.2 * x for x in live], live, 0.5, 0.95).worse
    one_slow = [*live[:-1], 10_000.0]  # p95 unchanged: one slow request is not a slower canary
    assert not compare_latency(one_slow, live, 0.5, 0.95).worse


def _run(started: datetime = START) -> Run:
    return Run(1, "policies", 2, started, POLICY, "running", None, None, None)


def _judge(live: Tally, canary: Tally, minutes: float) -> str:
    lat: dict[Arm, list[float]] = {"live": [100.0] * live.answered, "canary": [100.0] * canary.answered}
    return judge(_run(), {"live": live, "canary": canary}, lat, START + timedelta(minutes=minutes)).state


def test_verdicts() -> None:
    enough = Tally(questions=60, answered=60, refused=3)
    assert _judge(Tally(questions=49, answered=49), enough, 60) == "no_verdict"
    assert _judge(enough, Tally(questions=60, answered=60, refused=30), 1) == "worse"  # no need to wait
    assert _judge(enough, enough, 5) == "holding"
    assert _judge(enough, enough, 10) == "passed"
    errors = Tally(questions=60, answered=50, model_errors=10)
    assert _judge(enough, errors, 60) == "worse"


def test_policy_overrides_merge_and_bad_values_are_refused() -> None:
    merged = POLICY.with_override(CanaryPolicyOverride(min_questions=5, max_worsening={"refusal_rate": 0.1}))
    assert merged.min_questions == 5 and merged.min_duration_s == 600
    assert merged.max_worsening["refusal_rate"] == 0.1 and merged.max_worsening["thumbs_down_rate"] == 0.02
    with pytest.raises(ValidationError):
        CanaryPolicyOverride.model_validate({"max_worsening": {"latency_p95": 11}})
    with pytest.raises(ValidationError, match="unknown metric"):
        Settings(_env_file=None, canary_max_worsening={"happiness": 0.1})
    with pytest.raises(ValidationError, match="RAG_WEBHOOK_SIGNING_SECRET"):
        Settings(_env_file=None, webhook_url="http://127.0.0.1:9/hook")
