"""Feedback on answers: thumbs up or down with a comment, reviews, and golden-set candidates from them.

Feedback rows live in the metadata database beside the answers table and name the answer they
judge; the answer record itself (question, answer, citations, version, prompt, model) is never
changed. A person *reviews* negative feedback by naming the documents that should have answered
the question (``rag feedback review ID --doc-id ...``); only reviewed negative feedback becomes a
golden-set candidate, so nothing an employee typed reaches the promotion gate unread.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field

from rag.answer_log import answers_table, as_received
from rag.answer_log import metadata as answers_metadata
from rag.errors import InvalidInput, NotFound
from rag.evaluation.golden import GoldenQuestion

__all__ = [
    "MAX_COMMENT_CHARS",
    "AnswerNotFound",
    "Feedback",
    "FeedbackNotFound",
    "FeedbackStore",
    "Rating",
    "golden_candidate",
]

MAX_COMMENT_CHARS = 2000
Rating = Literal["up", "down"]

feedback_table = sa.Table(
    "answer_feedback",
    answers_metadata,
    sa.Column("feedback_id", sa.String(32), primary_key=True),
    sa.Column("answer_id", sa.String(40), sa.ForeignKey("answers.answer_id"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    sa.Column("review_doc_ids", sa.Text),
    sa.Column("review_answer", sa.Text),
)
feedback_time_index = sa.Index("ix_answer_feedback_created_at", feedback_table.c.created_at)
"""Ratings given since a time (a canary run's thumbs-down) are read through it; created on databases
of older releases at start (tables gain indexes this way, never columns)."""


class AnswerNotFound(NotFound):
    code = "answer_not_found"


class FeedbackNotFound(NotFound):
    code = "feedback_not_found"


class Feedback(BaseModel):
    """One piece of feedback, with the answer it judges (as recorded when it was given)."""

    feedback_id: str
    answer_id: str
    created_at: datetime
    rating: Rating
    comment: str | None
    reviewed_at: datetime | None = Field(None, description="When a person reviewed it; null: not reviewed.")
    review_doc_ids: list[str] | None = Field(None, description="The documents the reviewer says answer it.")
    review_answer: str | None = Field(None, description="The reviewer's short correct answer, if given.")
    answer: dict[str, Any] = Field(
        description="The answer record: question, answer, citations, index version, prompt, model."
    )


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class FeedbackStore:
    """Adds, lists and reviews feedback; the answers it names must exist in the answer log."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        answers_metadata.create_all(engine)
        feedback_time_index.create(engine, checkfirst=True)

    def add(self, answer_id: str, rating: Rating, comment: str | None = None) -> Feedback:
        """Store feedback on an answer. ``AnswerNotFound`` for an unknown answer; ``InvalidInput``
        for a comment over :data:`MAX_COMMENT_CHARS`. Several pieces of feedback may name one answer."""
        if rating not in ("up", "down"):
            raise InvalidInput(f"rating must be 'up' or 'down', not {rating!r}")
        text = comment.strip() if comment else None
        if text and len(text) > MAX_COMMENT_CHARS:
            raise InvalidInput(f"the comment has {len(text)} characters; the limit is {MAX_COMMENT_CHARS}")
        feedback_id = uuid.uuid4().hex
        with self._db.begin() as conn:
            found = conn.execute(
                sa.select(answers_table.c.answer_id).where(answers_table.c.answer_id == answer_id)
            ).first()
            if found is None:
                raise AnswerNotFound(f"unknown answer {answer_id!r}")
            conn.execute(
                feedback_table.insert().values(
                    feedback_id=feedback_id,
                    answer_id=answer_id,
                    created_at=datetime.now(UTC),
                    rating=rating,
                    comment=text or None,
                )
            )
        stored = self.get(feedback_id)
        assert stored is not None
        return stored

    def _select(self) -> sa.Select[Any]:
        return sa.select(feedback_table, answers_table.c.record).join(
            answers_table, answers_table.c.answer_id == feedback_table.c.answer_id
        )

    def get(self, feedback_id: str) -> Feedback | None:
        """One piece of feedback with its answer, or None."""
        with self._db.connect() as conn:
            row = conn.execute(self._select().where(feedback_table.c.feedback_id == feedback_id)).first()
        return None if row is None else _feedback(row)

    def iter_all(
        self, *, rating: Rating | None = None, reviewed: bool | None = None, since: datetime | None = None
    ) -> Iterator[Feedback]:
        """Feedback oldest first, optionally only one rating, (un)reviewed ones, or given since a time."""
        query = self._select().order_by(feedback_table.c.created_at, feedback_table.c.feedback_id)
        if rating is not None:
            query = query.where(feedback_table.c.rating == rating)
        if reviewed is not None:
            column = feedback_table.c.reviewed_at
            query = query.where(column.is_not(None) if reviewed else column.is_(None))
        if since is not None:
            query = query.where(feedback_table.c.created_at >= since)
        with self._db.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            yield _feedback(row)

    def review(self, feedback_id: str, doc_ids: Sequence[str], answer: str | None = None) -> Feedback:
        """Mark feedback reviewed: ``doc_ids`` are the documents (sources, as in golden sets) that
        answer its question; ``answer`` an optional short correct answer. A later review replaces
        an earlier one. ``FeedbackNotFound`` for an unknown id; ``InvalidInput`` without documents."""
        docs = list(dict.fromkeys(d.strip() for d in doc_ids if d.strip()))
        if not docs:
            raise InvalidInput("a review names at least one document that answers the question")
        with self._db.begin() as conn:
            done = conn.execute(
                feedback_table.update()
                .where(feedback_table.c.feedback_id == feedback_id)
                .values(
                    reviewed_at=datetime.now(UTC),
                    review_doc_ids=json.dumps(docs),
                    review_answer=(answer or "").strip() or None,
                )
            )
            if done.rowcount != 1:
                raise FeedbackNotFound(f"unknown feedback {feedback_id!r}")
        stored = self.get(feedback_id)
        assert stored is not None
        return stored

    def count(self) -> int:
        """How many pieces of feedback are stored."""
        with self._db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar() or 0)


def _feedback(row: sa.Row[Any]) -> Feedback:
    m = row._mapping
    return Feedback(
        feedback_id=m["feedback_id"],
        answer_id=m["answer_id"],
        created_at=_aware(m["created_at"]),
        rating=m["rating"],
        comment=m["comment"],
        reviewed_at=_aware(m["reviewed_at"]),
        review_doc_ids=json.loads(m["review_doc_ids"]) if m["review_doc_ids"] else None,
        review_answer=m["review_answer"],
        answer=as_received(json.loads(m["record"])),
    )


def golden_candidate(feedback: Feedback) -> GoldenQuestion | None:
    """The golden-set line reviewed negative feedback stands for, or None (positive or unreviewed).

    The id is ``fb-`` + the feedback id's first 12 characters, so re-running an export finds the
    candidates it already wrote.
    """
    if feedback.rating != "down" or not feedback.review_doc_ids:
        return None
    return GoldenQuestion(
        id=f"fb-{feedback.feedback_id[:12]}",
        question=str(feedback.answer["question"]),
        doc_ids=tuple(feedback.review_doc_ids),
        answer=feedback.review_answer,
    )
