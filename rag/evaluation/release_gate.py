"""The gate for a release: check a release against the live one before it goes live.

What is compared depends on what changed (``docs/adr/0019-releases.md``):

- the index version only: the retrieval gate (:func:`rag.evaluation.gate.gate_evaluation`), the
  candidate version's retrieval scores against the live version's, as a build's gate does;
- the prompt, model or retrieval settings: the golden set answered by the live release and by the
  candidate release, compared question by question (:func:`rag.evaluation.answer_diff.diff_answers`)
  and failed over the answer thresholds (:func:`rag.evaluation.answer_gate.check_answers`);
- both: both.

Nothing is logged as an answer; the answers go through each release's own profile (its prompt,
model and retrieval settings).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from indexes.releases import AnswerSpec, Release
from indexes.versions import ResolvedVersion, VersionRegistry
from rag.assistant import Assistant
from rag.errors import Conflict
from rag.evaluation.answer_diff import DiffQuestion, assistant_answers, diff_answers
from rag.evaluation.answer_gate import AnswerThresholds, check_answers
from rag.evaluation.gate import gate_evaluation
from rag.evaluation.golden import GoldenSet

__all__ = ["gate_release"]


def _resolved(registry: VersionRegistry, release: Release) -> ResolvedVersion:
    info = registry.catalog.get_version(release.index, release.version)
    if info is None or info.manifest is None:
        raise Conflict(f"release {release.number} names {release.index}@{release.version}, which is not ready")
    return ResolvedVersion(release.index, None, release.version, info.manifest, release)


def gate_release(
    candidate: Release,
    *,
    assistant: Assistant,
    registry: VersionRegistry,
    effective: Callable[[Release], AnswerSpec],
    golden: GoldenSet,
    questions: Sequence[DiffQuestion],
    thresholds: AnswerThresholds,
    tolerance: float,
) -> dict[str, Any]:
    """The gate result of ``candidate`` against the live release: ``live_release``, ``changed`` (what
    differs), ``retrieval`` and/or ``answers`` (None when not compared), ``passed`` and ``reasons``.

    ``effective`` gives what a release answers with here (``rag.releases.effective_spec`` with the
    settings). Raises Conflict when the index has no live release, or the candidate is the live one.
    """
    live = registry.live_release(candidate.index)
    if live is None:
        raise Conflict(f"index {candidate.index!r} has no live release to compare release {candidate.number} with")
    if live.number == candidate.number:
        raise Conflict(f"release {candidate.number} is the live release: nothing to compare it with")
    started = time.perf_counter()
    old, new = effective(live), effective(candidate)
    changed = [
        name
        for name, differs in (
            ("version", live.version != candidate.version),
            ("prompt", old.prompt != new.prompt),
            ("model", old.model != new.model),
            ("settings", old.settings != new.settings),
        )
        if differs
    ]
    passed, reasons = True, []
    retrieval: dict[str, Any] | None = None
    answers: dict[str, Any] | None = None
    target = _resolved(registry, candidate)
    if "version" in changed:
        profile = assistant.profile(target)
        retrieval = gate_evaluation(profile.retriever, registry, candidate.index, target.manifest, golden, tolerance)
        passed = passed and bool(retrieval["passed"])
        reasons += [f"retrieval: {r}" for r in retrieval["reasons"]]
    if set(changed) - {"version"}:
        diff = diff_answers(
            questions,
            assistant_answers(assistant, _resolved(registry, live), golden.match),
            assistant_answers(assistant, target, golden.match),
        )
        ok, why = check_answers(diff.summary, thresholds)
        passed = passed and ok
        reasons += why
        answers = {
            "summary": diff.summary.model_dump(),
            "questions": len(questions),
            "thresholds": thresholds.model_dump(),
            "passed": ok,
            "items": [i.model_dump(mode="json") for i in diff.items if i.changed],
        }
    if not changed:
        reasons.append("nothing differs from the live release")
    return {
        "release": candidate.number,
        "live_release": live.number,
        "changed": changed,
        "retrieval": retrieval,
        "answers": answers,
        "passed": passed,
        "reasons": reasons,
        "seconds": round(time.perf_counter() - started, 2),
    }
