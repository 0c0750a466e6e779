"""Asking on behalf of a caller: the caller's access groups filter retrieval, and the question is audited.

Shared by ``POST /v1/ask`` and ``POST /v1/chat/completions`` so both enforce the same access rules.
Every answer is recorded with the caller's key id (``oidc:...`` for a signed-in user); feedback on
it is accepted from that caller. The audit row of a streamed answer is written when the stream
ends and says how it ended: ``ok`` (the answer was recorded), the error's code (the answer failed
mid-way), or ``disconnected`` (the client left before the answer was complete).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rag.access.audit import question_digest
from rag.access.principal import Principal
from rag.answer_stream import Final, StreamEvent
from rag.as_of import parse_as_of
from rag.conversation import ConversationLimits, Turn
from rag.errors import RagError
from rag.records import AnswerRecord

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = ["DISCONNECTED", "ask_as", "conversation_limits", "question_details", "stream_as"]

DISCONNECTED = "disconnected"
"""The audit outcome of a streamed answer whose client left before the answer was recorded."""


def _kept(services: Services, question: str) -> str:
    """What the audit log keeps of a question: its text, or only its digest (setting)."""
    return question if services.settings.audit_questions == "text" else question_digest(question)


def question_details(
    services: Services, question: str, history: Sequence[Turn], as_of: str | None = None
) -> dict[str, Any]:
    """The audit details of a question: what is kept of it, for a follow-up how many turns came before,
    and the ``as_of`` asked about."""
    details: dict[str, Any] = {"question": _kept(services, question)}
    if history:
        details["earlier_turns"] = len(history)
    if as_of is not None:
        details["as_of"] = as_of[:64]
    return details


def _caller(services: Services, principal: Principal) -> dict[str, Any]:
    """Who asks, as the assistant takes it: the groups whose chunks they may see, and their key id."""
    return {"groups": principal.visible_groups(services.settings.default_access_group), "asked_by": principal.key_id}


def conversation_limits(services: Services) -> ConversationLimits:
    """The configured size limits of a conversation (``/v1/ask`` history, chat messages)."""
    settings = services.settings
    return ConversationLimits(settings.max_conversation_chars, settings.max_conversation_messages)


def _outcome(exc: BaseException) -> str:
    return exc.code if isinstance(exc, RagError) else f"error:{type(exc).__name__}"


def ask_as(
    services: Services,
    principal: Principal,
    question: str,
    index: str | None,
    top_k: int | None,
    history: Sequence[Turn] = (),
    as_of: str | None = None,
) -> AnswerRecord:
    """Answer from the chunks ``principal`` may see, and audit the question and its outcome.

    ``history`` holds the conversation's earlier turns (a follow-up is made standalone from them).
    ``as_of`` (ISO date or date-time, :mod:`rag.as_of`) answers from the version live at that moment.
    """
    with services.audit.action(principal, "ask", index=index or services.settings.default_index) as audited:
        audited.details.update(question_details(services, question, history, as_of))
        moment = parse_as_of(as_of) if as_of is not None else None
        record = services.assistant.ask(
            question, index, top_k, history=history, as_of=moment, **_caller(services, principal)
        )
        audited.target = record.answer_id
        audited.details.update(
            version=record.index.version,
            refused=record.refused,
            citations=len(record.citations),
            grounded=record.grounded,
        )
    return record


def stream_as(
    services: Services,
    principal: Principal,
    question: str,
    index: str | None,
    top_k: int | None,
    history: Sequence[Turn] = (),
    as_of: str | None = None,
) -> Iterator[StreamEvent]:
    """Start a streamed answer from the chunks ``principal`` may see (``as_of`` as in :func:`ask_as`).

    Bad input raises here and is audited at once; otherwise the audit row is written when the
    returned iterator ends, with the outcome of the whole stream.
    """
    audit_index = index or services.settings.default_index
    details = {**question_details(services, question, history, as_of), "stream": True}
    try:
        moment = parse_as_of(as_of) if as_of is not None else None
        events = services.assistant.stream(
            question, index, top_k, history=history, as_of=moment, **_caller(services, principal)
        )
    except Exception as exc:
        services.audit.record(principal, "ask", _outcome(exc), index=audit_index, details=details)
        raise
    return _audited(services, principal, audit_index, details, events)


def _audited(
    services: Services, principal: Principal, index: str, details: dict[str, Any], events: Iterator[StreamEvent]
) -> Iterator[StreamEvent]:
    """``events`` passed through; one audit row when they end, however they end."""
    outcome = DISCONNECTED
    target: str | None = None
    try:
        for ev in events:
            if isinstance(ev, Final):
                record = ev.record
                target, outcome = record.answer_id, "ok"
                details.update(
                    version=record.index.version,
                    refused=record.refused,
                    citations=len(record.citations),
                    grounded=record.grounded,
                )
            yield ev
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            outcome = _outcome(exc)
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        services.audit.record(principal, "ask", outcome, index=index, target=target, details=details)
