"""Feedback rules: who may rate an answer, and the one way feedback is stored on a caller's behalf.

Feedback is accepted only from the caller that received the answer (its key id, the signed-in
user's ``oidc:...`` id, or the Slack user's ``slack:...`` id), or an admin; anyone else gets the
same 404 ``answer_not_found`` as for an unknown answer, so answer ids reveal nothing. Shared by
``POST /v1/answers/{id}/feedback`` and the Slack app's thumbs buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.access.answers import check_receiver
from rag.access.principal import Principal
from rag.feedback import Feedback, Rating

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = ["give_feedback"]


def give_feedback(
    services: Services, principal: Principal, answer_id: str, rating: Rating, comment: str | None = None
) -> Feedback:
    """Store ``rating`` on the answer for its receiver (or an admin), audited as ``feedback``."""
    with services.audit.action(principal, "feedback", target=answer_id) as audited:
        audited.details["rating"] = rating
        check_receiver(services.answers, principal, answer_id)
        feedback = services.feedback.add(answer_id, rating, comment)
    services.canary.poke()  # a thumbs-down may decide a running canary
    return feedback
