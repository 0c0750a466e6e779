"""Scores a question set end to end: retrieval, the answer an employee reads, and refusals.

Every question goes through :meth:`rag.assistant.Assistant.ask` (retrieval, the refusal decision,
the answerer and the citation check, exactly as ``POST /v1/ask``; nothing is added to the answer
log) plus one wider search for the retrieval figures. A refused answerable question counts as a
miss for every answer figure.

Figures (shares of questions):

- ``file_hit@k``: a top-k chunk comes from the gold file or a file that states the same fact;
- ``evidence_hit@k``: such a chunk also contains the answer phrase (Markdown, case and spacing
  ignored); ``mrr@10`` of the first gold-file chunk;
- ``key_fact``: the answer holds the answer phrase or every number of the key fact;
  ``phrase_in_answer``: the answer phrase itself (strict);
- ``cited_gold``: an answered question cites a gold file; ``mixed_groups``: an answered
  question cites a file from another part of the corpus (the other company's handbook);
- ``refused_near`` / ``refused_off`` / ``refused_unanswerable``: refusal recall on unanswerable
  questions; ``refusal_precision``; ``false_refusal``: answerable questions refused;
- ``cv_*``: the same refusal figures when each question is judged by a refusal model calibrated on
  the other folds of the set (what a calibrated index does with new questions; see
  :func:`score_observed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from indexes.versions import ResolvedVersion
from rag.assistant import Assistant
from rag.evaluation.fact_match import contains_phrase, states_key_fact
from rag.evaluation.question_set import Question, QuestionSet
from rag.evaluation.runner import percentile
from rag.refusal import FEATURES, held_out_refusals

__all__ = ["Observed", "QuestionResult", "observe", "score_observed", "score_questions"]

FILE_KS = (1, 3, 5, 10)
ProgressFn = Callable[[int, int], None]


class QuestionResult(BaseModel):
    """One scored run of a question set."""

    dataset: dict[str, Any] = Field(description="name, sha256, questions, answerable, near_topic, off_topic")
    version: dict[str, Any] = Field(description="index, version, chunks, documents")
    retrieval: dict[str, Any]
    answerer: str
    refusal: dict[str, Any] = Field(description="how this version decides to refuse")
    metrics: dict[str, float]
    by_group: dict[str, dict[str, float]] = Field(description="the answerable figures per part of the corpus")
    latency_ms: dict[str, float] = Field(description="p50 and p95 of one whole answer")
    per_query: list[dict[str, Any]] = Field(default_factory=list)


def _group_of(source: str) -> str:
    return source.split("/", 1)[0]


def _share(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _retrieval(q: Question, top: list[tuple[str, str]]) -> dict[str, Any]:
    gold = set(q.gold_paths)
    in_gold = [source in gold for source, _ in top]
    evidence = [g and contains_phrase(text, q.answer_phrase) for g, (_, text) in zip(in_gold, top, strict=True)]
    first = next((i for i, g in enumerate(in_gold) if g), None)
    out: dict[str, Any] = {f"file_hit@{k}": any(in_gold[:k]) for k in FILE_KS}
    out["evidence_hit@5"] = any(evidence[:5])
    out["evidence_hit@10"] = any(evidence[:10])
    out["mrr@10"] = 0.0 if first is None or first >= 10 else 1.0 / (first + 1)
    return out


def _answer(q: Question, answer: str, refused: bool, cited: list[str]) -> dict[str, Any]:
    answered = not refused
    return {
        "refused": refused,
        "key_fact": answered and states_key_fact(answer, q.key_fact, q.answer_phrase),
        "phrase_in_answer": answered and contains_phrase(answer, q.answer_phrase),
        "cited_gold": answered and any(s in q.gold_paths for s in cited),
        "mixed_groups": answered and any(_group_of(s) != q.group for s in cited),
    }


def _figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    answered = [r for r in rows if not r["refused"]]
    figures = {f"file_hit@{k}": _share([r[f"file_hit@{k}"] for r in rows]) for k in FILE_KS}
    figures["evidence_hit@5"] = _share([r["evidence_hit@5"] for r in rows])
    figures["evidence_hit@10"] = _share([r["evidence_hit@10"] for r in rows])
    figures["mrr@10"] = round(sum(r["mrr@10"] for r in rows) / len(rows), 4) if rows else 0.0
    figures["key_fact"] = _share([r["key_fact"] for r in rows])
    figures["phrase_in_answer"] = _share([r["phrase_in_answer"] for r in rows])
    figures["cited_gold"] = _share([r["cited_gold"] for r in answered])
    figures["mixed_groups"] = _share([r["mixed_groups"] for r in answered])
    figures["false_refusal"] = _share([r["refused"] for r in rows])
    return figures


class Observed(BaseModel):
    """What the system did with one question: its answer, what it cited and the wider search's chunks."""

    id: str
    answer: str
    refused: bool
    cited: list[str] = Field(description="source of every citation, in order")
    top: list[tuple[str, str]] = Field(description="(source, text) of the best chunks of a wider search")
    latency_ms: float
    signals: dict[str, float] = Field(default_factory=dict, description="what a refusal model reads")


def observe(
    assistant: Assistant, version: ResolvedVersion, qset: QuestionSet, progress: ProgressFn | None = None
) -> list[Observed]:
    """Ask every question of ``qset`` of ``version`` (nothing is added to the answer log)."""
    ref = f"{version.index}@{version.version}"
    out: list[Observed] = []
    for i, q in enumerate(qset.questions, start=1):
        started = time.perf_counter()
        record = assistant.ask(q.text, index=ref, record=False)
        latency = (time.perf_counter() - started) * 1000
        hits = assistant.retriever.search(version, q.text, max(FILE_KS)) if q.answerable else []
        out.append(
            Observed(
                id=q.id,
                answer=record.answer,
                refused=record.refused,
                cited=[c.source for c in record.citations],
                top=[(h.chunk.source, h.chunk.text) for h in hits],
                latency_ms=latency,
                signals=assistant.refusal_signals(version, q.text),
            )
        )
        if progress is not None:
            progress(i, len(qset.questions))
    return out


def _held_out(
    qset: QuestionSet, observed: list[Observed], max_false_refusal: float, features: tuple[str, ...]
) -> dict[str, float] | None:
    """Per question id, the share of cross-validations in which a refusal model calibrated on the
    other folds of ``qset`` refuses it (``rag.refusal.held_out_refusals``);
    None when the set is too small to cross-validate or the signals were not observed."""
    by_id = {o.id: o for o in observed}
    if any(not by_id[q.id].signals for q in qset.questions):
        return None
    try:
        refused = held_out_refusals(
            [by_id[q.id].signals for q in qset.questions],
            [q.answerable for q in qset.questions],
            max_false_refusal=max_false_refusal,
            features=features,
        )
    except (ValueError, KeyError):
        return None
    return {q.id: r for q, r in zip(qset.questions, refused, strict=True)}


def score_observed(
    qset: QuestionSet,
    observed: list[Observed],
    *,
    max_false_refusal: float = 0.05,
    features: tuple[str, ...] = FEATURES,
) -> tuple[dict[str, float], dict[str, dict[str, float]], list[dict[str, Any]]]:
    """(figures, answerable figures per group, one row per question) of what was observed.

    With signals observed and at least 5 answerable and 5 unanswerable questions, the figures also
    hold ``cv_*`` refusal figures: each question judged by a refusal model over ``features``
    calibrated (at ``max_false_refusal``) on the other folds of this very set, what a calibrated index does with
    questions it was not calibrated on.
    """
    by_id = {o.id: o for o in observed}
    rows: list[dict[str, Any]] = []
    per_query: list[dict[str, Any]] = []
    refusals: dict[str, list[bool]] = {"near-topic": [], "off-topic": []}
    for q in qset.questions:
        o = by_id[q.id]
        row: dict[str, Any] = {"id": q.id, "kind": q.kind, "refused": o.refused}
        if q.answerable:
            row |= {"group": q.group, **_retrieval(q, o.top), **_answer(q, o.answer, o.refused, o.cited)}
            rows.append(row)
        else:
            refusals[q.kind].append(o.refused)
        per_query.append({**row, "answer": o.answer, "cited": o.cited})
    unanswerable = refusals["near-topic"] + refusals["off-topic"]
    refused_total = sum(unanswerable) + sum(r["refused"] for r in rows)
    metrics = _figures(rows)
    metrics |= {
        "refused_near": _share(refusals["near-topic"]),
        "refused_off": _share(refusals["off-topic"]),
        "refused_unanswerable": _share(unanswerable),
        "refusal_precision": round(sum(unanswerable) / refused_total, 4) if refused_total else 0.0,
    }
    held = _held_out(qset, observed, max_false_refusal, features)
    if held is not None:
        kinds = {k: [held[q.id] for q in qset.questions if q.kind == k] for k in ("near-topic", "off-topic")}
        metrics |= {
            "cv_false_refusal": _share([held[q.id] for q in qset.questions if q.answerable]),
            "cv_refused_near": _share(kinds["near-topic"]),
            "cv_refused_off": _share(kinds["off-topic"]),
            "cv_refused_unanswerable": _share(kinds["near-topic"] + kinds["off-topic"]),
        }
    groups = sorted({r["group"] for r in rows})
    return metrics, {g: _figures([r for r in rows if r["group"] == g]) for g in groups}, per_query


def score_questions(
    assistant: Assistant,
    version: ResolvedVersion,
    qset: QuestionSet,
    *,
    progress: ProgressFn | None = None,
    keep_per_query: bool = False,
    max_false_refusal: float = 0.05,
) -> QuestionResult:
    """Ask every question of ``qset`` of ``version`` and score retrieval, answers and refusals
    (with cross-validated refusal figures at ``max_false_refusal``, see :func:`score_observed`)."""
    observed = observe(assistant, version, qset, progress)
    fitted = (version.manifest.refusal or {}).get("features")
    features = tuple(fitted) if fitted and len(fitted) > 1 else FEATURES  # a floor has one: judge with the default
    metrics, by_group, per_query = score_observed(
        qset, observed, max_false_refusal=max_false_refusal, features=features
    )
    latencies = [o.latency_ms for o in observed]
    manifest = version.manifest
    return QuestionResult(
        dataset={
            "name": qset.name,
            "sha256": qset.sha256,
            "questions": len(qset.questions),
            "answerable": len(qset.answerable),
            "near_topic": sum(q.kind == "near-topic" for q in qset.questions),
            "off_topic": sum(q.kind == "off-topic" for q in qset.questions),
        },
        version={
            "index": version.index,
            "version": version.version,
            "chunks": manifest.chunk_count,
            "documents": len(manifest.documents),
        },
        retrieval=assistant.retriever.describe(),
        answerer=f"{assistant.answerer.model.provider}/{assistant.answerer.model.name}",
        refusal=assistant.refusal_policy(version),
        metrics=metrics,
        by_group=by_group,
        latency_ms={"p50": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2)},
        per_query=per_query if keep_per_query else [],
    )
