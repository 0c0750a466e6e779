"""What of an index's alias history a caller may see.

Everyone who may ask an index may see when each version was live (that is what an as-of answer
cites). Who switched the alias is shown only to the index's owners and admins: an employee
sees ``actor: null``.
"""

from __future__ import annotations

from dataclasses import replace

from indexes.live_history import LiveSpan
from rag.access.principal import Principal

__all__ = ["visible_history"]


def visible_history(spans: list[LiveSpan], principal: Principal, index: str) -> list[LiveSpan]:
    """``spans`` as ``principal`` may see them: unchanged for owners of ``index`` and admins, without
    actors for everyone else."""
    if principal.owns(index):
        return spans
    return [replace(s, actor=None) for s in spans]
