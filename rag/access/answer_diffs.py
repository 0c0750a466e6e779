"""Who sees what of a stored answer diff: the questions whose documents the caller may all see.

An item of an answer diff names documents three ways (expected, cited live, cited by the
candidate); a caller limited to some access groups gets an item only when every one of them is a
document of the compared versions in one of their groups, and the summary counts those items only.
Callers without a group filter get the diff as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from indexes.manifest import DocumentEntry, Manifest

__all__ = ["visible_answer_diff"]


def _names(item: dict[str, Any]) -> set[str]:
    names = set(item.get("expected", []))
    for side in ("live", "candidate"):
        names |= {str(c["doc"]) for c in item.get(side, {}).get("cited", [])}
    return names


def visible_answer_diff(
    diff: dict[str, Any],
    manifests: Iterable[Manifest],
    visible: Callable[[DocumentEntry], bool],
    *,
    restricted: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, stale questions) of ``diff`` the caller may see; all of them when not ``restricted``.

    Documents are named as the golden set matches them (``diff["golden"]["match"]``: source or
    doc id). A name no manifest holds, or held by an entry the caller cannot see, hides the item.
    """
    items: list[dict[str, Any]] = list(diff.get("items", []))
    stale: list[dict[str, Any]] = list(diff.get("stale_questions", []))
    if not restricted:
        return items, stale
    by_source = diff.get("golden", {}).get("match", "source") == "source"
    seen: dict[str, bool] = {}
    for m in manifests:
        for entry in m.documents:
            name = entry.source if by_source else entry.doc_id
            seen[name] = seen.get(name, True) and visible(entry)
    shown = [i for i in items if all(seen.get(n, False) for n in _names(i))]
    ids = {i["id"] for i in shown}
    return shown, [s for s in stale if s["id"] in ids and seen.get(str(s["doc"]), False)]
