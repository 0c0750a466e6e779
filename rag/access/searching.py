"""Searching on behalf of a caller: passages from the chunks the caller's access groups allow, audited.

The search is the assistant's own retrieval (``rag.retrieval.Retriever``) on the version the index
reference resolves to, filtered inside the engine's query by the caller's groups, exactly as an
answer's evidence is: a passage the caller may not read is never found, counted or quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexes.refs import IndexRef
from indexes.types import SearchHit
from rag.access.asking import question_details
from rag.access.principal import Principal
from rag.errors import InvalidInput

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = ["MAX_SEARCH_RESULTS", "Passages", "search_as"]

MAX_SEARCH_RESULTS = 50
"""The most passages one search returns."""


@dataclass(frozen=True, slots=True)
class Passages:
    """What a search found: the version searched (and the alias that named it) and its hits, best first."""

    index: str
    alias: str | None
    version: int
    hits: list[SearchHit]


def search_as(services: Services, principal: Principal, query: str, index: str | None, top_k: int | None) -> Passages:
    """The ``top_k`` best passages for ``query`` among the chunks ``principal`` may see; audited as ``search``.

    Bad input (an empty or oversized query, a ``top_k`` outside 1..50, a malformed index reference)
    raises ``InvalidInput``; an unknown index or version raises its ``NotFound``. Nothing is stored
    but the audit row.
    """
    assistant = services.assistant
    limit = assistant.top_k if top_k is None else top_k
    if not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidInput(f"top_k must be between 1 and {MAX_SEARCH_RESULTS}; got {limit}")
    with services.audit.action(principal, "search", index=index or services.settings.default_index) as audited:
        text = assistant.check_question(query)
        audited.details.update(question_details(services, text, ()))
        version = services.registry.resolve(IndexRef.parse(index or services.settings.default_index))
        groups = principal.visible_groups(services.settings.default_access_group)
        hits = assistant.retriever.search(version, text, limit, groups=groups)
        audited.details.update(version=version.version, results=len(hits))
    return Passages(index=version.index, alias=version.alias, version=version.version, hits=hits)
