"""Both arms' cumulative refusal and thumbs-down rates over a run's time, at evenly spaced points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rag.canary.arms import Arm

__all__ = ["Point", "cumulative_series"]


@dataclass(frozen=True, slots=True)
class Point:
    """Counts of both arms up to ``at``: questions, refusals, answers that drew a thumbs-down."""

    at: datetime
    questions: dict[Arm, int]
    refused: dict[Arm, int]
    thumbs_down: dict[Arm, int]

    def rate(self, counts: dict[Arm, int], arm: Arm) -> float | None:
        """``counts[arm]`` per question of the arm (None before its first question)."""
        n = self.questions[arm]
        return counts[arm] / n if n else None


def cumulative_series(
    timeline: Sequence[tuple[datetime, Arm, bool, bool]], start: datetime, end: datetime, points: int = 24
) -> list[Point]:
    """``points`` cumulative snapshots from ``start`` to ``end`` of a timeline (oldest first) of
    ``(at, arm, refused, thumbs_down)``; empty when the span is empty."""
    if end <= start or points < 1:
        return []
    step = (end - start) / points
    out: list[Point] = []
    q: dict[Arm, int] = {"live": 0, "canary": 0}
    r: dict[Arm, int] = {"live": 0, "canary": 0}
    d: dict[Arm, int] = {"live": 0, "canary": 0}
    i = 0
    for k in range(1, points + 1):
        until = start + step * k
        while i < len(timeline) and (timeline[i][0] <= until or k == points):
            _, arm, refused, down = timeline[i]
            q[arm] += 1
            r[arm] += refused
            d[arm] += down
            i += 1
        out.append(Point(until, dict(q), dict(r), dict(d)))
    return out
