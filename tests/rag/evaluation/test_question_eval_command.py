"""``rag eval`` on a question set: builds the corpus once through the product pipeline, asks, scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()

# The HR line is published in two documents: a build keeps it (a contact point of the corpus), and the
# reuse check must redact exactly as the build does, or the unchanged corpus would look changed.
CORPUS = {
    "acme/leave.md": (
        "# Leave\n\nEvery Acme employee gets 26 days of annual leave per calendar\nyear, booked in the HR portal.\n"
        "Questions: call the HR line at (415) 555-0199.\n"
    ),
    "acme/travel.md": (
        "# Travel\n\nHotel stays are reimbursed up to $150 per night.\nBook travel through the travel desk.\n"
        "Questions: call the HR line at (415) 555-0199.\n"
    ),
    "globex/leave.md": "# Leave\n\nGlobex employees get 30 days of annual leave per year.\n",
}
QUESTIONS = [
    {
        "id": "a1",
        "question": "How many days of annual leave does an Acme employee get per year?",
        "answerable": True,
        "gold_path": "acme/leave.md",
        "answer_phrase": "26 days of annual leave",
        "key_fact": "26 days",
        "corpus": "acme",
    },
    {
        "id": "a2",
        "question": "What is the hotel limit per night at Acme?",
        "answerable": True,
        "gold_path": "acme/travel.md",
        "answer_phrase": "up to $150 per night",
        "key_fact": "$150 per night",
        "corpus": "acme",
    },
    {"id": "u1", "question": "Is there a nap room?", "answerable": False, "absence_check": "[off-topic] none"},
]


def test_a_question_set_is_built_once_and_scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "books"
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    for name in ("RAG_QDRANT_URL", "RAG_LLM_MODEL", "RAG_LLM_BASE_URL", "RAG_DATABASE_URL", "RAG_GOLDEN_SET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["eval", str(qa), "--corpus", str(corpus), "--json", str(tmp_path / "r.json")])
    assert first.exit_code == 0, first.output
    assert "answer states the key fact" in first.output and "eval-books v1" in first.output
    [result] = json.loads((tmp_path / "r.json").read_text())
    m = result["metrics"]
    assert m["file_hit@1"] == 1.0 and m["evidence_hit@5"] == 1.0  # the wrapped phrase is found across lines
    assert m["key_fact"] == 1.0 and m["mixed_groups"] == 0.0
    assert result["dataset"]["answerable"] == 2 and result["dataset"]["off_topic"] == 1
    again = runner.invoke(app, ["eval", str(qa), "--corpus", str(corpus)])
    assert again.exit_code == 0 and "eval-books v1" in again.output  # unchanged: reused, not rebuilt
    missing = runner.invoke(app, ["eval", str(qa)])
    assert missing.exit_code == 1 and "--corpus" in missing.output
    # the build calibrated its refusals on the question set: other questions mean another build
    (qa / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in [*QUESTIONS, EXTRA_ANSWERABLE[0]]))
    changed = runner.invoke(app, ["eval", str(qa), "--corpus", str(corpus)])
    assert changed.exit_code == 0 and "eval-books v2" in changed.output, changed.output


EXTRA_ANSWERABLE = [
    {
        "id": f"a{3 + i}",
        "question": question,
        "answerable": True,
        "gold_path": path,
        "answer_phrase": phrase,
        "key_fact": fact,
        "corpus": path.split("/")[0],
    }
    for i, (question, path, phrase, fact) in enumerate(
        [
            ("How many days off do Globex staff get a year?", "globex/leave.md", "30 days", "30 days"),
            ("Where do Acme employees book their annual leave?", "acme/leave.md", "HR portal", "HR portal"),
            ("Who books travel at Acme?", "acme/travel.md", "travel desk", "travel desk"),
        ]
    )
]
EXTRA_UNANSWERABLE = [
    {"id": f"u{2 + i}", "question": q, "answerable": False, "absence_check": f"[{kind}] none"}
    for i, (q, kind) in enumerate(
        [
            ("Is there a company book club?", "off-topic"),
            ("Does Acme pay for a gym membership?", "off-topic"),
            ("How much is Acme's dental insurance premium?", "near-topic"),
            ("Can Globex staff carry leave over into the next year?", "near-topic"),
        ]
    )
]


def test_a_question_set_with_unanswerable_questions_calibrates_the_build_and_cross_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "books"
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    qa = tmp_path / "qa"
    qa.mkdir()
    questions = [*QUESTIONS, *EXTRA_ANSWERABLE, *EXTRA_UNANSWERABLE]
    (qa / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    for name in ("RAG_QDRANT_URL", "RAG_LLM_MODEL", "RAG_LLM_BASE_URL", "RAG_DATABASE_URL", "RAG_GOLDEN_SET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAG_CALIBRATION_SETS", "{}")
    result = runner.invoke(app, ["eval", str(qa), "--corpus", str(corpus), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "calibrated on qa" in result.output
    [scored] = json.loads((tmp_path / "r.json").read_text())
    assert scored["refusal"]["in_sample"]["false_refusal"] <= 0.2  # the limit, on 5 answerable questions
    m = scored["metrics"]
    for key in ("cv_false_refusal", "cv_refused_near", "cv_refused_off", "cv_refused_unanswerable"):
        assert 0.0 <= m[key] <= 1.0
    assert "refused: all unanswerable, cross-validated" in result.output
