"""The feedback store on SQLite and on a real PostgreSQL server: add, review, list, golden candidates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rag.answer_log import AnswerLog
from rag.errors import InvalidInput
from rag.feedback import AnswerNotFound, FeedbackNotFound, FeedbackStore, golden_candidate
from tests.indexes.test_catalog_postgres import pg_url

__all__ = ["pg_url"]  # the fixture, re-used


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'meta.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = sa.create_engine(url)
    yield eng
    eng.dispose()


def _record(question: str) -> dict[str, object]:
    return {
        "answer_id": uuid.uuid4().hex,
        "question": question,
        "answer": "Some answer [1]",
        "citations": [],
        "index": {"name": "policies", "alias": "policies", "version": 3},
        "prompt": {"name": "answer", "version": "v1"},
        "model": {"provider": "extractive", "name": "extractive-v1"},
        "refused": False,
        "citations_dropped": 0,
        "timings_ms": {},
    }


def test_add_review_and_candidates(engine: sa.Engine) -> None:
    log = AnswerLog(engine)
    store = FeedbackStore(engine)
    record = _record("Can I carry over leave?")
    log.save(record)
    up = store.add(str(record["answer_id"]), "up")
    down = store.add(str(record["answer_id"]), "down", "  wrong year  ")
    assert down.comment == "wrong year" and down.answer["index"] == {
        "name": "policies",
        "alias": "policies",
        "version": 3,
    }
    assert golden_candidate(down) is None  # not reviewed yet
    assert [f.feedback_id for f in store.iter_all(rating="down", reviewed=False)] == [down.feedback_id]

    reviewed = store.review(down.feedback_id, ["people/annual-leave.md", "people/annual-leave.md", " "], "5 days")
    assert reviewed.review_doc_ids == ["people/annual-leave.md"] and reviewed.reviewed_at is not None
    candidate = golden_candidate(reviewed)
    assert candidate is not None and candidate.question == "Can I carry over leave?"
    assert candidate.doc_ids == ("people/annual-leave.md",) and candidate.answer == "5 days"
    assert golden_candidate(store.review(up.feedback_id, ["x.md"])) is None  # positive: never a candidate
    assert store.count() == 2


def test_bad_input_changes_nothing(engine: sa.Engine) -> None:
    log = AnswerLog(engine)
    store = FeedbackStore(engine)
    record = _record("q?")
    log.save(record)
    with pytest.raises(AnswerNotFound):
        store.add("missing", "up")
    with pytest.raises(InvalidInput):
        store.add(str(record["answer_id"]), "up", "x" * 2001)
    with pytest.raises(InvalidInput):
        store.add(str(record["answer_id"]), "sideways")  # type: ignore[arg-type]
    assert store.count() == 0
    ok = store.add(str(record["answer_id"]), "down")
    with pytest.raises(FeedbackNotFound):
        store.review("missing", ["a.md"])
    with pytest.raises(InvalidInput):
        store.review(ok.feedback_id, ["  "])
    assert store.get(ok.feedback_id).reviewed_at is None  # type: ignore[union-attr]
