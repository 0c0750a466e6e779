"""Question sets: loading, fact matching, and scoring what a system answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.datasets import DatasetError
from rag.evaluation.fact_match import contains_phrase, key_fact_numbers, states_key_fact
from rag.evaluation.question_runner import Observed, score_observed
from rag.evaluation.question_set import QuestionSet, is_question_set, load_question_set

QUESTIONS = [
    {
        "id": "a1",
        "question": "How many weeks of unpaid leave can I take to care for a veteran?",
        "answerable": True,
        "gold_path": "acme/leave.md",
        "also_ok_paths": ["acme/fmla.md"],
        "answer_phrase": "up to **26 weeks** of unpaid",
        "key_fact": "26 weeks",
        "corpus": "acme",
    },
    {
        "id": "a2",
        "question": "Who verifies employment?",
        "answerable": True,
        "gold_path": "globex/verify.md",
        "also_ok_paths": [],
        "answer_phrase": "hr@globex.example",
        "key_fact": "hr@globex.example",
        "corpus": "globex",
    },
    {"id": "u1", "question": "Is there a nap room?", "answerable": False, "absence_check": "[off-topic] grep ..."},
    {"id": "u2", "question": "What is the HSA match?", "answerable": False, "absence_check": "[near-topic] grep ..."},
]


def _write(folder: Path, rows: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_a_question_set_is_recognised_and_loaded(tmp_path: Path) -> None:
    folder = _write(tmp_path / "qa", QUESTIONS)
    assert is_question_set(folder) and not is_question_set(tmp_path)
    qset = load_question_set(folder)
    assert [q.kind for q in qset.questions] == ["answerable", "answerable", "off-topic", "near-topic"]
    assert qset.questions[0].gold_paths == ("acme/leave.md", "acme/fmla.md")
    assert qset.questions[1].group == "globex" and len(qset.answerable) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "x", "question": "q", "answerable": "yes"}, "answerable"),
        ({"id": "x", "question": "q", "answerable": True, "answer_phrase": "p"}, "gold_path"),
        ({"id": "x", "question": " ", "answerable": False}, "question"),
    ],
)
def test_malformed_records_name_the_line(tmp_path: Path, row: dict[str, object], message: str) -> None:
    folder = _write(tmp_path / "bad", [QUESTIONS[2], row])
    with pytest.raises(DatasetError, match=f"line 2.*{message}"):
        load_question_set(folder)


def test_facts_match_across_markdown_case_spacing_and_number_words() -> None:
    assert contains_phrase("You may take up to 26\nweeks of UNPAID leave", "up to **26 weeks** of unpaid")
    assert not contains_phrase("You may take up to 12 weeks of unpaid leave", "up to 26 weeks of unpaid")
    assert key_fact_numbers("$1,000 within three days") == {"1000", "3"}
    assert states_key_fact("Reimbursed within 3 business days, capped at $1000.", "$1,000 within three days", "x")
    assert not states_key_fact("Reimbursed within 3 business days.", "$1,000 within three days", "x")
    assert not states_key_fact("Ask your manager.", "yes, with approval", "with approval of")


def test_scoring_counts_hits_facts_refusals_and_mixing(tmp_path: Path) -> None:
    qset = load_question_set(_write(tmp_path / "qa", QUESTIONS))
    observed = [
        Observed(
            id="a1",
            answer="You may take up to 26 weeks of unpaid leave. [1]",
            refused=False,
            cited=["acme/fmla.md", "globex/leave.md"],
            top=[("globex/leave.md", "12 weeks"), ("acme/fmla.md", "up to 26 weeks of unpaid leave")],
            latency_ms=5.0,
        ),
        Observed(id="a2", answer="Not covered.", refused=True, cited=[], top=[("acme/x.md", "no")], latency_ms=5.0),
        Observed(id="u1", answer="Not covered.", refused=True, cited=[], top=[], latency_ms=5.0),
        Observed(id="u2", answer="The HSA exists. [1]", refused=False, cited=["acme/hsa.md"], top=[], latency_ms=5.0),
    ]
    metrics, by_group, rows = score_observed(qset, observed)
    assert metrics["file_hit@1"] == 0.0 and metrics["file_hit@3"] == 0.5 and metrics["evidence_hit@5"] == 0.5
    assert metrics["mrr@10"] == 0.25
    assert metrics["key_fact"] == 0.5 and metrics["false_refusal"] == 0.5
    assert metrics["cited_gold"] == 1.0 and metrics["mixed_groups"] == 1.0
    assert metrics["refused_off"] == 1.0 and metrics["refused_near"] == 0.0 and metrics["refused_unanswerable"] == 0.5
    assert metrics["refusal_precision"] == 0.5  # u1 and a2 were refused: one of the two rightly
    assert by_group["acme"]["key_fact"] == 1.0 and by_group["globex"]["false_refusal"] == 1.0
    assert len(rows) == 4


def _separable_set(tmp_path: Path, answerable: int, unanswerable: int) -> tuple[QuestionSet, list[Observed]]:
    """A question set whose answerable questions have strong evidence and unanswerable ones weak."""
    rows: list[dict[str, object]] = []
    observed: list[Observed] = []
    for i in range(answerable):
        rows.append(
            {
                "id": f"a{i}",
                "question": f"How many days for thing {i}?",
                "answerable": True,
                "gold_path": "acme/x.md",
                "also_ok_paths": [],
                "answer_phrase": f"{i} days",
                "key_fact": f"{i} days",
                "corpus": "acme",
            }
        )
        signals = {"best_similarity": 0.6 + 0.01 * i, "weakest_term_similarity": 0.7 + 0.01 * i}
        observed.append(
            Observed(
                id=f"a{i}",
                answer=f"{i} days.",
                refused=False,
                cited=["acme/x.md"],
                top=[],
                latency_ms=1.0,
                signals=signals,
            )
        )
    for i in range(unanswerable):
        kind = "near-topic" if i % 2 else "off-topic"
        rows.append(
            {"id": f"u{i}", "question": f"Nap room {i}?", "answerable": False, "absence_check": f"[{kind}] grep"}
        )
        signals = {"best_similarity": 0.1 + 0.01 * i, "weakest_term_similarity": 0.1 + 0.01 * i}
        observed.append(
            Observed(id=f"u{i}", answer="x", refused=False, cited=[], top=[], latency_ms=1.0, signals=signals)
        )
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return load_question_set(tmp_path), observed


def test_refusals_are_also_scored_by_models_calibrated_on_the_other_folds(tmp_path: Path) -> None:
    qset, observed = _separable_set(tmp_path, answerable=20, unanswerable=10)
    metrics, _, _ = score_observed(qset, observed)
    # what the version did: it refused nothing
    assert metrics["refused_unanswerable"] == 0.0
    # what a model calibrated on the other folds does with each question: separable, so all refused
    assert metrics["cv_refused_unanswerable"] == 1.0
    assert metrics["cv_refused_near"] == 1.0 and metrics["cv_refused_off"] == 1.0
    assert metrics["cv_false_refusal"] <= 0.05

    from rag.evaluation.question_report import question_table
    from rag.evaluation.question_runner import QuestionResult

    result = QuestionResult(
        dataset={"name": "q", "sha256": "0" * 64, "questions": 30, "answerable": 20, "near_topic": 5, "off_topic": 5},
        version={"index": "i", "version": 1, "chunks": 1, "documents": 1},
        retrieval={"mode": "hybrid"},
        answerer="extractive/x",
        refusal={},
        metrics=metrics,
        by_group={},
        latency_ms={"p50": 1.0, "p95": 1.0},
    )
    assert "| refused: all unanswerable, cross-validated | 1.000 |" in question_table([result])


def test_no_cross_validated_refusals_without_signals_or_enough_unanswerable_questions(tmp_path: Path) -> None:
    qset, observed = _separable_set(tmp_path, answerable=20, unanswerable=3)
    metrics, _, _ = score_observed(qset, observed)
    assert "cv_refused_unanswerable" not in metrics
    qset, observed = _separable_set(tmp_path, answerable=20, unanswerable=10)
    unobserved = [o.model_copy(update={"signals": {}}) for o in observed]
    metrics, _, _ = score_observed(qset, unobserved)
    assert "cv_false_refusal" not in metrics
