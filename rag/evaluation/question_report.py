"""Question-set results as a Markdown table: one column per run, a delta column against the first."""

from __future__ import annotations

from collections.abc import Sequence

from rag.evaluation.question_runner import QuestionResult

__all__ = ["question_table"]

ROWS = (
    ("file hit@1", "file_hit@1"),
    ("file hit@3", "file_hit@3"),
    ("file hit@5", "file_hit@5"),
    ("file hit@10", "file_hit@10"),
    ("evidence hit@5", "evidence_hit@5"),
    ("evidence hit@10", "evidence_hit@10"),
    ("MRR@10 (file)", "mrr@10"),
    ("answer states the key fact", "key_fact"),
    ("answer holds the answer phrase", "phrase_in_answer"),
    ("answer cites a gold file", "cited_gold"),
    ("answer mixes another part of the corpus", "mixed_groups"),
    ("false refusals", "false_refusal"),
    ("refused: near-topic unanswerable", "refused_near"),
    ("refused: off-topic unanswerable", "refused_off"),
    ("refused: all unanswerable", "refused_unanswerable"),
    ("refusal precision", "refusal_precision"),
)
CV_ROWS = (
    ("false refusals, cross-validated", "cv_false_refusal"),
    ("refused: near-topic, cross-validated", "cv_refused_near"),
    ("refused: off-topic, cross-validated", "cv_refused_off"),
    ("refused: all unanswerable, cross-validated", "cv_refused_unanswerable"),
)
"""Refusals of a model calibrated on the other folds of the set (present when the set allows it)."""
GROUP_ROWS = (("evidence hit@5", "evidence_hit@5"), ("key fact", "key_fact"), ("false refusals", "false_refusal"))


def question_table(results: Sequence[QuestionResult]) -> str:
    """A GitHub Markdown table of the runs' figures, per-group figures and latency, with notes."""
    if not results:
        raise ValueError("no results to tabulate")
    compare = len(results) > 1
    header = ["figure", *(f"run {i}" for i in range(1, len(results) + 1))]
    if compare:
        header += [f"delta ({i} - 1)" for i in range(2, len(results) + 1)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]

    def row(name: str, values: list[float], digits: int = 3) -> None:
        cells = [name, *(f"{v:.{digits}f}" for v in values)]
        if compare:
            cells += [f"{v - values[0]:+.{digits}f}" for v in values[1:]]
        lines.append("| " + " | ".join(cells) + " |")

    for label, key in ROWS:
        row(label, [r.metrics[key] for r in results])
    for label, key in CV_ROWS:
        if all(key in r.metrics for r in results):
            row(label, [r.metrics[key] for r in results])
    for group in sorted(results[0].by_group):
        for label, key in GROUP_ROWS:
            row(f"{group}: {label}", [r.by_group.get(group, {}).get(key, 0.0) for r in results])
    row("answer latency p50 (ms)", [r.latency_ms["p50"] for r in results], 1)
    row("answer latency p95 (ms)", [r.latency_ms["p95"] for r in results], 1)
    d = results[0].dataset
    notes = [
        f"Data: `{d['name']}` ({d['answerable']} answerable, {d['near_topic']} near-topic and {d['off_topic']} "
        f"off-topic unanswerable questions, sha256 {d['sha256'][:12]})."
    ]
    for i, r in enumerate(results, start=1):
        v, s, refusal = r.version, r.retrieval, r.refusal
        notes.append(
            f"Run {i}: {v['index']} v{v['version']} ({v['chunks']} chunks of {v['documents']} documents); "
            f"mode {s['mode']}{'/' + s['fusion'] if s.get('fusion') else ''}; answerer {r.answerer}; "
            f"refusal {refusal.get('method')} ({refusal.get('source')})."
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"
