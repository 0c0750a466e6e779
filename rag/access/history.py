"""What of an index's versions over time a caller may see: its alias history and its documents' changes.

Everyone who may ask an index may see when each version was live (that is what an as-of answer
cites). Who switched the alias is shown only to the index's owners and admins: an employee
sees ``actor: null``. What changed shows only documents that share an access group with the
caller (:func:`document_filter`); a document outside them is absent from every version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from indexes.live_history import LiveSpan
from indexes.manifest import DocumentEntry
from rag.access.principal import Principal
from rag.access.visibility import entry_visible

__all__ = ["document_filter", "visible_history"]


def document_filter(principal: Principal, default_group: str) -> Callable[[DocumentEntry], bool]:
    """Whether ``principal`` may see a document entry of a manifest (shares one of its access groups)."""
    groups = principal.visible_groups(default_group)

    def visible(entry: DocumentEntry) -> bool:
        return entry_visible(entry, groups, default_group)

    return visible


def visible_history(spans: list[LiveSpan], principal: Principal, index: str) -> list[LiveSpan]:
    """``spans`` as ``principal`` may see them: unchanged for owners of ``index`` and admins, without
    actors for everyone else."""
    if principal.owns(index):
        return spans
    return [replace(s, actor=None) for s in spans]
