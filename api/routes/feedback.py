"""Feedback on answers: ``POST /v1/answers/{answer_id}/feedback`` and reading an answer back."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Admin, Employee
from api.deps import ServicesDep
from api.schemas import ErrorBody
from rag.feedback import MAX_COMMENT_CHARS, AnswerNotFound, Feedback

__all__ = ["FeedbackRequest", "router"]

router = APIRouter(prefix="/v1/answers", tags=["feedback"])


class FeedbackRequest(BaseModel):
    """Thumbs up or down on an answer, with an optional comment."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS, description="What was right or wrong.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown answer (code answer_not_found)."},
    422: {"model": ErrorBody, "description": "Rating not up/down, comment over 2000 characters."},
}


@router.post("/{answer_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=Feedback, responses=_ERRORS)
def add_feedback(answer_id: str, body: FeedbackRequest, services: ServicesDep, principal: Employee) -> Feedback:
    """Store feedback with the answer it judges (question, answer, citations, version, prompt, model)."""
    with services.audit.action(principal, "feedback", target=answer_id) as audited:
        audited.details["rating"] = body.rating
        return services.feedback.add(answer_id, body.rating, body.comment)


@router.get("/{answer_id}", responses={404: _ERRORS[404]})
def get_answer(answer_id: str, services: ServicesDep, principal: Admin) -> dict[str, Any]:
    """The recorded answer (the same record ``POST /v1/ask`` returned); admins only, since it may quote
    documents of any access group."""
    record = services.answers.get(answer_id)
    if record is None:
        raise AnswerNotFound(f"unknown answer {answer_id!r}")
    return record
