"""The OpenAI chat protocol: ``POST /v1/chat/completions`` (plain and streamed) and ``GET /v1/models``.

``model`` names an index: ``"policies"`` (the live alias) or ``"policies@4"`` (a pinned version).
The last user message is the question; the messages before it are the conversation, from which a
follow-up is made standalone (``rag.conversation``). A conversation over the size limit is 422
``conversation_too_long``; one without a user message is 422 ``conversation_without_question``.
The answer's text carries ``[n]`` markers and ends with numbered footnotes
(``[1] Title > Heading (source, page 2)``); the citations also come as a list in an extra field:

- plain: ``choices[0].message.citations`` (the answer record's citations), and top-level
  ``answer_id``, ``index`` ({name, alias, version}), ``refused``, ``grounded``, ``support`` (per
  sentence of a model's answer) and ``standalone_question``;
- streamed: the chunk carrying the footnotes has ``choices[0].delta.citations``; the last chunk
  (``finish_reason: "stop"``) has the same top-level fields; then ``data: [DONE]``.

Sampling parameters (``temperature``, ``max_tokens``, ...) are accepted and ignored. An extra
``as_of`` (ISO date or date-time) answers from the version live at that moment, as on ``/v1/ask``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import ServerSentEvent

from api.auth import Employee
from api.deps import MetricsDep, ServicesDep
from api.fields import AsOf, Name
from api.metrics import Metrics
from api.schemas import ErrorBody
from api.sse import sse_response
from indexes.types import ChunkRecord
from rag.access.asking import ask_as, conversation_limits, stream_as
from rag.answer_stream import Citations, Delta, Final, StreamEvent
from rag.conversation import Turn, clean_turns, split_conversation
from rag.errors import RagError
from rag.records import AnswerRecord, CitationOut
from rag.wiring import Services

__all__ = ["ChatRequest", "footnotes", "router"]

router = APIRouter(prefix="/v1", tags=["openai"])


class ChatMessage(BaseModel):
    """One chat message; ``content`` is text or a list of parts (only ``text`` parts are read)."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatRequest(BaseModel):
    """An OpenAI chat-completions request; unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: Name = Field(min_length=1, description="An index alias or version: 'policies', 'policies@4'.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    as_of: AsOf | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "policy-assistant"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def _conversation(body: ChatRequest, services: Services) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the user and assistant turns before it."""
    turns = clean_turns([(m.role, m.text()) for m in body.messages])
    return split_conversation(turns, conversation_limits(services))


def _where(c: CitationOut | ChunkRecord) -> str:
    return " > ".join([c.title, *[h for h in c.heading_path if h != c.title]])


def footnotes(citations: list[CitationOut]) -> str:
    """The numbered footnotes appended to an answer: ``\\n\\n[1] Title > Heading (source, page 2)``."""
    if not citations:
        return ""
    lines = [f"[{c.n}] {_where(c)} ({c.source}{f', page {c.page}' if c.page else ''})" for c in citations]
    return "\n\n" + "\n".join(lines)


def _answer_fields(record: AnswerRecord) -> dict[str, Any]:
    return {
        "answer_id": record.answer_id,
        "index": record.index.model_dump(mode="json"),
        "refused": record.refused,
        "grounded": record.grounded,
        "support": [s.model_dump(mode="json") for s in record.support],
        "standalone_question": record.standalone_question,
    }


def _completion(body: ChatRequest, record: AnswerRecord) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{record.answer_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": record.answer + footnotes(record.citations),
                    "citations": [c.model_dump(mode="json") for c in record.citations],
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        **_answer_fields(record),
    }


def _chunks(body: ChatRequest, events: Iterator[StreamEvent], metrics: Metrics) -> Iterator[ServerSentEvent]:
    """The OpenAI streaming form of an answer's events; a failure becomes an ``error`` object."""
    created = int(time.time())
    stream_id = f"chatcmpl-{uuid.uuid4().hex}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ServerSentEvent:
        data = {
            "id": stream_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return ServerSentEvent(data=json.dumps(data, ensure_ascii=False))

    yield chunk({"role": "assistant", "content": ""})
    try:
        for ev in events:
            if isinstance(ev, Delta):
                yield chunk({"content": ev.text})
            elif isinstance(ev, Citations):
                cited = [c.model_dump(mode="json") for c in ev.citations]
                yield chunk({"content": footnotes(ev.citations), "citations": cited})
            elif isinstance(ev, Final):
                metrics.observe_answer(ev.record)
                yield chunk({}, "stop", **_answer_fields(ev.record))
    except RagError as exc:
        yield ServerSentEvent(data=json.dumps({"error": {"code": exc.code, "message": exc.message, "type": exc.code}}))
        return
    yield ServerSentEvent(data="[DONE]")


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "The model names no index or version (or none was live at `as_of`)."},
    410: {"model": ErrorBody, "description": "`version_dropped`: the version live at `as_of` was dropped."},
    422: {
        "model": ErrorBody,
        "description": "No user message (`conversation_without_question`), a conversation over the size limit "
        "(`conversation_too_long`), an empty or oversized question.",
    },
    503: {"model": ErrorBody, "description": "The answer model cannot be reached."},
}


@router.post("/chat/completions", response_model=None, responses=_ERRORS)
async def chat_completions(
    body: ChatRequest, services: ServicesDep, metrics: MetricsDep, principal: Employee
) -> Response | dict[str, Any]:
    """Answer the last user message from the index ``model`` names, in the OpenAI chat format.

    Like ``POST /v1/ask``, only chunks in the caller's access groups are searched. Earlier messages
    make a follow-up standalone; the answer says whether every sentence is supported (``grounded``).
    """
    question, history = _conversation(body, services)
    if body.stream:
        events = await run_in_threadpool(
            stream_as, services, principal, question, body.model, None, history, as_of=body.as_of
        )
        return sse_response(_chunks(body, events, metrics))
    record = await run_in_threadpool(ask_as, services, principal, question, body.model, None, history, as_of=body.as_of)
    metrics.observe_answer(record)
    return _completion(body, record)


def _models(services: Services) -> ModelList:
    cards: list[ModelCard] = []
    for name in services.catalog.list_indexes():
        versions = services.catalog.list_versions(name)
        if services.registry.live_version(name) is not None:
            cards.append(ModelCard(id=name, created=int(versions[-1].created_at.timestamp())))
        cards += [
            ModelCard(id=f"{name}@{v.version}", created=int(v.created_at.timestamp()))
            for v in versions
            if v.state == "ready"
        ]
    return ModelList(data=cards)


@router.get("/models", response_model=ModelList)
def list_models(services: ServicesDep, principal: Employee) -> ModelList:
    """Every index with a live version, and every ready version, as OpenAI model ids."""
    return _models(services)
