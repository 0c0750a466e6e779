"""The gate's answer step: answer the golden set on the live version and the candidate, keep the diff,
mark stale golden questions, and fail the gate over the configured thresholds.

Runs after :func:`rag.evaluation.gate.gate_evaluation` on its result (the live version it compared
with), so the retrieval gate stays as it is. The per-question items go to the ``answer_diffs``
table (:class:`indexes.answer_diffs.AnswerDiffs`); ``Manifest.evaluation["gate"]["answers"]`` keeps
the summary, the stale question ids and the thresholds in force.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from indexes.answer_diffs import AnswerDiffs
from indexes.manifest import Manifest
from indexes.refs import IndexRef
from indexes.versions import ResolvedVersion
from rag.assistant import Assistant
from rag.evaluation.answer_diff import AnswerDiffSummary, DiffQuestion, assistant_answers, diff_answers
from rag.evaluation.gate import VersionResolver
from rag.evaluation.golden import GoldenSet
from rag.evaluation.golden_stale import stale_questions
from rag.evaluation.query_vectors import EmbeddedAhead
from rag.what_changed import VersionTexts

__all__ = ["AnswerThresholds", "answer_gate", "check_answers"]


class AnswerThresholds(BaseModel):
    """The most golden questions (counts, not shares) whose answer may lose its expected source, or be
    newly refused, before the gate fails; None: reported, never failed on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_lost_source: int | None = None
    max_newly_refused: int | None = None


def check_answers(summary: AnswerDiffSummary, thresholds: AnswerThresholds) -> tuple[bool, list[str]]:
    """Whether the counts are within the thresholds, and one reason per figure."""
    ok = True
    reasons: list[str] = [f"answers: {summary.text} (of {summary.questions} questions)"]
    for label, count, limit in (
        ("lose their expected source", summary.lost_source, thresholds.max_lost_source),
        ("newly refused", summary.newly_refused, thresholds.max_newly_refused),
    ):
        if limit is None:
            continue
        if count > limit:
            ok = False
            reasons.append(f"{count} answers {label} > max {limit}")
        else:
            reasons.append(f"{count} answers {label}, within max {limit}")
    return ok, reasons


def answer_gate(
    evaluation: dict[str, Any],
    *,
    assistant: Assistant,
    registry: VersionResolver,
    texts: VersionTexts,
    store: AnswerDiffs,
    manifest: Manifest,
    golden: GoldenSet,
    questions: Sequence[DiffQuestion],
    thresholds: AnswerThresholds,
) -> dict[str, Any]:
    """``evaluation`` (a gate result) with ``answers`` added and ``passed`` / ``reasons`` amended.

    With no live version in ``evaluation`` nothing is answered and the gate is unchanged (``answers``
    says so). Otherwise the diff is stored under the candidate's version (replacing an earlier one),
    and the gate fails when a count is above its threshold. Errors while answering propagate.
    """
    out = dict(evaluation)
    recorded: dict[str, Any] = {"thresholds": thresholds.model_dump(), "questions": len(questions)}
    live_info = evaluation.get("live")
    if not live_info:
        out["answers"] = {**recorded, "live_version": None, "note": "no live version to compare answers with"}
        return out
    index = manifest.index
    started = time.perf_counter()
    live = registry.resolve(IndexRef(index, int(live_info["version"])))
    candidate = ResolvedVersion(index, None, manifest.version, manifest)
    # Each question is searched on both versions: embed them all once, in batches, for both.
    ahead = EmbeddedAhead(assistant.retriever.embedders, [assistant.check_question(q.question) for q in questions])
    retriever = assistant.retriever.with_embedders(ahead)
    diff = diff_answers(
        questions,
        assistant_answers(assistant, live, golden.match, retriever=retriever),
        assistant_answers(assistant, candidate, golden.match, retriever=retriever),
    )
    stale = stale_questions(golden, live.manifest, manifest, lambda m, e: texts.text(m.index, m.version, e))
    ok, reasons = check_answers(diff.summary, thresholds)
    if stale:
        reasons.append(f"{len(stale)} golden questions stale for review: {', '.join(s.id for s in stale)}")
    seconds = round(time.perf_counter() - started, 2)
    model = assistant.answerer.model
    recorded |= {
        "live_version": live.version,
        "answerer": f"{model.provider}/{model.name}",
        "summary": diff.summary.model_dump(),
        "stale": [s.id for s in stale],
        "passed": ok,
        "seconds": seconds,
    }
    store.put(
        index,
        manifest.version,
        {
            "index": index,
            "version": manifest.version,
            "golden": {"path": golden.name, "sha256": golden.sha256, "match": golden.match},
            "prompt": {"name": assistant.prompt.name, "version": assistant.prompt.version},
            **recorded,
            "reasons": reasons,
            "items": [i.model_dump(mode="json") for i in diff.items],
            "stale_questions": [s.model_dump(mode="json") for s in stale],
        },
    )
    out["answers"] = recorded
    out["passed"] = bool(evaluation.get("passed")) and ok
    out["reasons"] = [*evaluation.get("reasons", []), *reasons]
    return out
