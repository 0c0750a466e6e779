"""``GET /v1/answers/{answer_id}/receipt``: what an answer was made from, for audit (see :mod:`rag.receipts`).

The caller who received the answer may read its receipt, and admins any; anyone else gets the 404
of an unknown answer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import Employee
from api.deps import ServicesDep
from api.schemas import ErrorBody
from rag.access.answers import check_receiver
from rag.access.principal import Principal
from rag.feedback import AnswerNotFound
from rag.receipts import Receipt, build_receipt
from rag.wiring import Services

__all__ = ["router"]

router = APIRouter(prefix="/v1/answers", tags=["feedback"])


def _receipt(services: Services, principal: Principal, answer_id: str) -> Receipt:
    check_receiver(services.answers, principal, answer_id)
    receipt = build_receipt(services.answers, services.catalog, answer_id, services.registry.releases)
    if receipt is None:
        raise AnswerNotFound(f"unknown answer {answer_id!r}")
    return receipt


@router.get(
    "/{answer_id}/receipt",
    response_model=Receipt,
    responses={404: {"model": ErrorBody, "description": "Unknown answer, or one another caller received."}},
)
async def receipt(answer_id: str, services: ServicesDep, principal: Employee) -> Receipt:
    """The answer's receipt: version, prompt, model, retrieval settings then, and per citation the
    document's content hash and the quote's offsets in that version's normalized text."""
    return await run_in_threadpool(_receipt, services, principal, answer_id)
