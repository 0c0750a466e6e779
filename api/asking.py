"""Asking on behalf of a caller: the caller's access groups filter retrieval, and the question is audited.

Shared by ``POST /v1/ask`` and ``POST /v1/chat/completions`` so both enforce the same access rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.answer_stream import StreamEvent
from rag.audit import question_digest
from rag.keys import Principal
from rag.records import AnswerRecord
from rag.wiring import Services

__all__ = ["ask_as", "stream_as"]


def _kept(services: Services, question: str) -> str:
    """What the audit log keeps of a question: its text, or only its digest (setting)."""
    return question if services.settings.audit_questions == "text" else question_digest(question)


def ask_as(
    services: Services, principal: Principal, question: str, index: str | None, top_k: int | None
) -> AnswerRecord:
    """Answer from the chunks ``principal`` may see, and audit the question and its outcome."""
    settings = services.settings
    with services.audit.action(principal, "ask", index=index or settings.default_index) as audited:
        audited.details["question"] = _kept(services, question)
        record = services.assistant.ask(
            question, index, top_k, groups=principal.visible_groups(settings.default_access_group)
        )
        audited.target = record.answer_id
        audited.details.update(version=record.index.version, refused=record.refused, citations=len(record.citations))
    return record


def stream_as(
    services: Services, principal: Principal, question: str, index: str | None, top_k: int | None
) -> Iterator[StreamEvent]:
    """Start a streamed answer from the chunks ``principal`` may see; bad input raises here, audited."""
    settings = services.settings
    with services.audit.action(principal, "ask", index=index or settings.default_index) as audited:
        audited.details.update(question=_kept(services, question), stream=True)
        return services.assistant.stream(
            question, index, top_k, groups=principal.visible_groups(settings.default_access_group)
        )
