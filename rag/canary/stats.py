"""The tests the canary analysis uses: a one-sided two-proportion test with a margin, and latency.

Proportions (refusal rate, thumbs-down rate ...): is the canary's rate worse than live's by more
than the allowed margin ``m``? Null hypothesis ``p_canary - p_live <= m``, alternative ``> m``,
tested with the Agresti-Caffo adjusted Wald statistic (one success and one failure added to each
arm, which keeps the test honest at small counts and at rates of 0 or 1)::

    p~ = (x + 1) / (n + 2)      z = (p~_c - p~_l - m) / sqrt(p~_c(1-p~_c)/(n_c+2) + p~_l(1-p~_l)/(n_l+2))

and the p-value is the normal upper tail of ``z`` (``scipy.stats.norm.sf``). The canary is *worse*
on the metric when ``p < 1 - confidence``. Fisher's exact test has no margin (it tests ``m = 0``
only), so a policy that tolerates a small worsening could not be expressed with it.

Latency: p95 of each arm, and a one-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``)
that the canary's latencies are stochastically greater than live's stretched by the allowed ratio.
The canary is worse on latency when its p95 exceeds live's by more than the ratio *and* that test
rejects at the confidence level: a p95 of a few hundred samples swings with one slow request, a rank
test over all of them does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import mannwhitneyu, norm

__all__ = ["Comparison", "compare_latency", "compare_proportions", "p95"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One metric of both arms, with the test's outcome.

    ``live`` and ``canary`` are the observed values (rates, or p95 in ms; None without data),
    ``difference`` canary minus live (for latency the ratio canary / live - 1), ``allowed`` the
    policy's margin, ``p_value`` the one-sided test's p (None: not tested), ``worse`` its decision.
    """

    metric: str
    live: float | None
    canary: float | None
    difference: float | None
    allowed: float
    p_value: float | None
    worse: bool
    live_n: int
    canary_n: int


def compare_proportions(
    metric: str, canary_x: int, canary_n: int, live_x: int, live_n: int, margin: float, confidence: float
) -> Comparison:
    """Test ``p_canary - p_live > margin`` (Agresti-Caffo adjusted Wald, one-sided) at ``confidence``.

    An arm with no questions gives no test (``p_value`` None, never worse).
    """
    if canary_n <= 0 or live_n <= 0:
        return Comparison(
            metric,
            live_x / live_n if live_n else None,
            canary_x / canary_n if canary_n else None,
            None,
            margin,
            None,
            False,
            live_n,
            canary_n,
        )
    pc, pl = (canary_x + 1) / (canary_n + 2), (live_x + 1) / (live_n + 2)
    se = math.sqrt(pc * (1 - pc) / (canary_n + 2) + pl * (1 - pl) / (live_n + 2))
    z = (pc - pl - margin) / se
    p = float(norm.sf(z))
    rc, rl = canary_x / canary_n, live_x / live_n
    return Comparison(metric, rl, rc, rc - rl, margin, p, p < 1 - confidence, live_n, canary_n)


def p95(values: Sequence[float]) -> float | None:
    """The 95th percentile (linear interpolation), None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), 95)) if len(values) else None


def compare_latency(
    canary_ms: Sequence[float], live_ms: Sequence[float], ratio: float, confidence: float
) -> Comparison:
    """Worse when the canary's p95 exceeds live's by more than ``ratio`` and a one-sided Mann-Whitney U
    test says the canary's latencies are greater than live's times ``1 + ratio`` at ``confidence``."""
    pc, pl = p95(canary_ms), p95(live_ms)
    if pc is None or pl is None:
        return Comparison("latency_p95", pl, pc, None, ratio, None, False, len(live_ms), len(canary_ms))
    difference = pc / pl - 1 if pl > 0 else 0.0
    stretched = np.asarray(live_ms, dtype=float) * (1 + ratio)
    p = float(mannwhitneyu(np.asarray(canary_ms, dtype=float), stretched, alternative="greater").pvalue)
    worse = difference > ratio and p < 1 - confidence
    return Comparison("latency_p95", pl, pc, difference, ratio, p, worse, len(live_ms), len(canary_ms))
