"""Server-sent events for a streamed answer: ``delta``, ``citations``, ``answer`` and ``error`` events.

Every event's data is one JSON object:

- ``delta``: ``{"text": "..."}`` -- the next piece of the answer text;
- ``citations``: ``{"citations": [...]}`` -- the checked citations (as in the answer record);
- ``answer``: the full answer record (the same body ``POST /v1/ask`` returns without streaming);
- ``error``: ``{"code", "message"}`` -- the answer failed after the stream began (nothing recorded).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from rag.answer_stream import Citations, Delta, Final, StreamEvent
from rag.errors import RagError
from rag.records import AnswerRecord

__all__ = ["answer_events", "sse_response"]

log = logging.getLogger("api.sse")


def _event(name: str, data: object) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=name)


def answer_events(
    events: Iterator[StreamEvent], on_answer: Callable[[AnswerRecord], None] | None = None
) -> Iterator[ServerSentEvent]:
    """The SSE form of an answer's events; a failure mid-stream becomes one ``error`` event."""
    try:
        for ev in events:
            if isinstance(ev, Delta):
                yield _event("delta", {"text": ev.text})
            elif isinstance(ev, Citations):
                yield _event("citations", {"citations": [c.model_dump(mode="json") for c in ev.citations]})
            elif isinstance(ev, Final):
                if on_answer is not None:
                    on_answer(ev.record)
                yield _event("answer", ev.record.model_dump(mode="json"))
    except RagError as exc:
        log.warning("stream failed: %s: %s", exc.code, exc.message)
        yield _event("error", {"code": exc.code, "message": exc.message})
    except Exception:
        log.exception("stream failed")
        yield _event("error", {"code": "internal_error", "message": "the answer failed; see the server log"})


def sse_response(events: Iterator[ServerSentEvent]) -> EventSourceResponse:
    """An ``text/event-stream`` response over a blocking iterator (iterated in a worker thread)."""
    return EventSourceResponse(events, ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
