"""Feedback on answers over HTTP, and the CLI that exports it and turns reviewed negatives into golden candidates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.cli import app as cli
from rag.evaluation.golden import load_golden

runner = CliRunner()


def _answer(client: TestClient, question: str = "How long must passwords be?") -> dict[str, Any]:
    body: dict[str, Any] = client.post("/v1/ask", json={"question": question}).json()
    return body


def test_feedback_is_stored_with_the_answer_it_judges(client: TestClient) -> None:
    answer = _answer(client)
    r = client.post(f"/v1/answers/{answer['answer_id']}/feedback", json={"rating": "down", "comment": "too short"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["rating"] == "down" and body["comment"] == "too short" and "answer" not in body
    stored = client.app.state.services.feedback.get(body["feedback_id"])  # type: ignore[attr-defined]
    assert stored is not None and stored.answer_id == answer["answer_id"]
    for key in ("question", "answer", "citations", "index", "prompt", "model"):
        assert stored.answer[key] == answer[key], key


def test_unknown_answer_is_404_and_nothing_is_stored(client: TestClient) -> None:
    r = client.post("/v1/answers/0123456789abcdef/feedback", json={"rating": "up"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "answer_not_found"
    assert client.app.state.services.feedback.count() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "payload",
    [{"rating": "meh"}, {}, {"rating": "up", "comment": "x" * 2001}, {"rating": "up", "extra": 1}, {"rating": 1}],
)
def test_bad_feedback_is_422_and_nothing_is_stored(client: TestClient, payload: dict[str, Any]) -> None:
    answer = _answer(client)
    r = client.post(f"/v1/answers/{answer['answer_id']}/feedback", json=payload)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert client.app.state.services.feedback.count() == 0  # type: ignore[attr-defined]


def test_a_recorded_answer_can_be_read_back(client: TestClient) -> None:
    answer = _answer(client)
    assert client.get(f"/v1/answers/{answer['answer_id']}").json() == answer
    assert client.get("/v1/answers/nope").json()["error"]["code"] == "answer_not_found"


def test_export_review_and_golden_candidates(
    client: TestClient, sample_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _answer(client)
    bad = _answer(client, "Can I carry over unused leave days to next year?")
    client.post(f"/v1/answers/{good['answer_id']}/feedback", json={"rating": "up"})
    down = client.post(f"/v1/answers/{bad['answer_id']}/feedback", json={"rating": "down", "comment": "wrong"}).json()
    unreviewed = _answer(client, "Who approves travel?")
    client.post(f"/v1/answers/{unreviewed['answer_id']}/feedback", json={"rating": "down"})

    monkeypatch.setenv("RAG_DATA_DIR", str(sample_copy))
    monkeypatch.delenv("RAG_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    exported = runner.invoke(cli, ["feedback", "export"])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["rating"] for r in rows] == ["up", "down", "down"]
    assert rows[1]["answer"]["question"] == bad["question"] and rows[1]["comment"] == "wrong"
    assert rows[1]["answer"]["index"]["version"] == 1 and rows[1]["answer"]["model"]["name"] == "extractive-v3"

    none_yet = runner.invoke(cli, ["golden", "add-from-feedback", "--out", "cand.jsonl"])
    assert none_yet.exit_code == 0 and "added 0 candidates" in none_yet.output

    missing = runner.invoke(cli, ["feedback", "review", "nope", "--doc-id", "people/annual-leave.md"])
    assert missing.exit_code == 1 and "unknown feedback" in missing.output
    reviewed = runner.invoke(
        cli,
        ["feedback", "review", down["feedback_id"], "--doc-id", "people/annual-leave.md", "--answer", "Up to 5 days."],
    )
    assert reviewed.exit_code == 0, reviewed.output

    added = runner.invoke(cli, ["golden", "add-from-feedback", "--out", "cand.jsonl"])
    assert added.exit_code == 0 and "added 1 candidates" in added.output, added.output
    again = runner.invoke(cli, ["golden", "add-from-feedback", "--out", "cand.jsonl"])
    assert "added 0 candidates" in again.output
    (candidate,) = load_golden(tmp_path / "cand.jsonl")  # the golden-set format, validated by its loader
    assert candidate.question == bad["question"]
    assert candidate.doc_ids == ("people/annual-leave.md",) and candidate.answer == "Up to 5 days."
    assert candidate.id == f"fb-{down['feedback_id'][:12]}"

    (tmp_path / "golden.jsonl").write_text(
        json.dumps({"id": "g1", "question": bad["question"].upper(), "doc_ids": ["people/annual-leave.md"]}) + "\n"
    )
    known = runner.invoke(cli, ["golden", "add-from-feedback", "--out", "other.jsonl", "--golden", "golden.jsonl"])
    assert known.exit_code == 0 and "added 0 candidates" in known.output  # already in the golden set

    only_down = runner.invoke(cli, ["feedback", "export", "--rating", "down", "--unreviewed"])
    assert [json.loads(x)["answer_id"] for x in only_down.stdout.splitlines()] == [unreviewed["answer_id"]]
