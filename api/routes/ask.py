"""POST /v1/ask: answer a question with citations, from the chunks the caller's access groups allow."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import Employee
from api.deps import ServicesDep
from api.schemas import AnswerRecord, AskRequest, ErrorBody
from rag.audit import question_digest
from rag.keys import Principal
from rag.wiring import Services

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["ask"])


def _ask(services: Services, principal: Principal, body: AskRequest) -> AnswerRecord:
    settings = services.settings
    question = body.question if settings.audit_questions == "text" else question_digest(body.question)
    with services.audit.action(principal, "ask", index=body.index or settings.default_index) as audited:
        audited.details["question"] = question
        record = services.assistant.ask(
            body.question,
            body.index,
            body.top_k,
            groups=principal.visible_groups(settings.default_access_group),
        )
        audited.target = record.answer_id
        audited.details.update(version=record.index.version, refused=record.refused, citations=len(record.citations))
    return record


@router.post(
    "/ask",
    response_model=AnswerRecord,
    responses={
        404: {"model": ErrorBody, "description": "Unknown index or version."},
        422: {"model": ErrorBody, "description": "Empty or oversized question, bad index reference."},
        503: {"model": ErrorBody, "description": "The answer model cannot be reached."},
    },
)
async def ask(body: AskRequest, services: ServicesDep, principal: Employee) -> AnswerRecord:
    """Answer from the live alias (or a pinned ``name@version``) with numbered citations.

    Only chunks of documents in the caller's access groups are searched (inside the engine's
    query), so nothing else is quoted, cited or counted.
    """
    return await run_in_threadpool(_ask, services, principal, body)
