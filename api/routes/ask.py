"""POST /v1/ask: answer a question with citations, from the chunks the caller's access groups allow,
in one piece or as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from api.auth import Employee
from api.deps import MetricsDep, ServicesDep
from api.schemas import AnswerRecord, AskRequest, ErrorBody
from api.sse import answer_events, sse_response
from rag.access.asking import ask_as, conversation_limits, stream_as
from rag.conversation import Turn, clean_turns

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post(
    "/ask",
    response_model=AnswerRecord,
    responses={
        200: {
            "description": "The answer record; with `stream: true`, server-sent events "
            "(`delta`, `citations`, `answer`, or `error`).",
            "content": {"text/event-stream": {}},
        },
        404: {
            "model": ErrorBody,
            "description": "Unknown index or version; `no_version_live_then`: `as_of` is before the first promotion.",
        },
        410: {"model": ErrorBody, "description": "`version_dropped`: the version live at `as_of` was dropped."},
        422: {
            "model": ErrorBody,
            "description": "Empty or oversized question, a conversation over the size limit, bad index reference.",
        },
        503: {"model": ErrorBody, "description": "The answer model cannot be reached."},
    },
)
async def ask(
    body: AskRequest, services: ServicesDep, metrics: MetricsDep, principal: Employee
) -> AnswerRecord | Response:
    """Answer from the live alias (or a pinned ``name@version``) with numbered citations.

    Only chunks of documents in the caller's access groups are searched (inside the engine's
    query), so nothing else is quoted, cited or counted. With ``stream: true``, errors found before
    answering (bad question, unknown index) are still plain JSON errors with their status; only a
    failure after the first event is an ``error`` event. ``history`` makes the question a follow-up.
    ``as_of`` answers from the version live at that moment (never the canary); ``index`` then says
    which, with ``as_of``, ``live_from`` and ``live_until``.
    """
    history = clean_turns([(t.role, t.content) for t in body.history])
    conversation_limits(services).check([*history, Turn("user", body.question)])
    args = (services, principal, body.question, body.index, body.top_k, history)
    if body.stream:
        events = await run_in_threadpool(stream_as, *args, as_of=body.as_of)
        return sse_response(answer_events(events, metrics.observe_answer))
    record = await run_in_threadpool(ask_as, *args, as_of=body.as_of)
    metrics.observe_answer(record)
    return record
