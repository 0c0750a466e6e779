"""Who may read or judge a recorded answer: the caller who received it, and admins.

Anyone else gets the same 404 ``answer_not_found`` as for an unknown answer, so answer ids reveal
nothing (an answer may quote documents of groups the caller cannot see).
"""

from __future__ import annotations

from rag.access.principal import Principal
from rag.answer_log import AnswerLog
from rag.feedback import AnswerNotFound

__all__ = ["check_receiver"]


def check_receiver(answers: AnswerLog, principal: Principal, answer_id: str) -> None:
    """Return if ``principal`` received the answer ``answer_id`` or is an admin; AnswerNotFound (404) otherwise."""
    if principal.role != "admin" and answers.asked_by(answer_id) != principal.key_id:
        raise AnswerNotFound(f"unknown answer {answer_id!r}")
