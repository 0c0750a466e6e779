"""Feedback on answers: ``POST /v1/answers/{answer_id}/feedback`` and reading an answer back.

Feedback is accepted only from the key that received the answer, or an admin; anyone else gets the
same 404 as for an unknown answer. The feedback response carries the feedback alone: never the
answer record, which may quote documents the caller cannot read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Admin, Employee
from api.deps import ServicesDep
from api.fields import FreeText
from api.schemas import ErrorBody
from rag.access.answers import check_receiver
from rag.feedback import MAX_COMMENT_CHARS, AnswerNotFound

__all__ = ["FeedbackOut", "FeedbackRequest", "router"]

router = APIRouter(prefix="/v1/answers", tags=["feedback"])


class FeedbackRequest(BaseModel):
    """Thumbs up or down on an answer, with an optional comment."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rating: Literal["up", "down"]
    comment: FreeText | None = Field(None, max_length=MAX_COMMENT_CHARS, description="What was right or wrong.")


class FeedbackOut(BaseModel):
    """The stored feedback (the answer it judges is not repeated: ``GET /v1/answers/{id}``, admins)."""

    feedback_id: str
    answer_id: str
    created_at: datetime
    rating: Literal["up", "down"]
    comment: str | None


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown answer, or one another key received (code answer_not_found)."},
    422: {"model": ErrorBody, "description": "Rating not up/down, comment over 2000 characters."},
}


@router.post(
    "/{answer_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackOut, responses=_ERRORS
)
def add_feedback(answer_id: str, body: FeedbackRequest, services: ServicesDep, principal: Employee) -> FeedbackOut:
    """Store feedback with the answer it judges; only the key that received the answer (or an admin)
    may give it. The response is the feedback alone."""
    with services.audit.action(principal, "feedback", target=answer_id) as audited:
        audited.details["rating"] = body.rating
        check_receiver(services.answers, principal, answer_id)
        stored = services.feedback.add(answer_id, body.rating, body.comment)
    return FeedbackOut(
        feedback_id=stored.feedback_id,
        answer_id=stored.answer_id,
        created_at=stored.created_at,
        rating=stored.rating,
        comment=stored.comment,
    )


@router.get("/{answer_id}", responses={404: _ERRORS[404]})
def get_answer(answer_id: str, services: ServicesDep, principal: Admin) -> dict[str, Any]:
    """The recorded answer (the same record ``POST /v1/ask`` returned); admins only, since it may quote
    documents of any access group."""
    record = services.answers.get(answer_id)
    if record is None:
        raise AnswerNotFound(f"unknown answer {answer_id!r}")
    return record
