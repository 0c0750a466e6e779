"""POST /v1/ask: answer a question with citations."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.schemas import AnswerRecord, AskRequest, ErrorBody

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post(
    "/ask",
    response_model=AnswerRecord,
    responses={
        404: {"model": ErrorBody, "description": "Unknown index or version."},
        422: {"model": ErrorBody, "description": "Empty or oversized question, bad index reference."},
        503: {"model": ErrorBody, "description": "The answer model cannot be reached."},
    },
)
async def ask(body: AskRequest, services: ServicesDep) -> AnswerRecord:
    """Answer from the live alias (or a pinned ``name@version``) with numbered citations."""
    return await run_in_threadpool(services.assistant.ask, body.question, body.index, body.top_k)
