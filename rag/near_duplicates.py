"""Near-duplicate chunks in a ranking: the same passage published in several documents.

Handbooks copy pages: a benefit described on a team page, an FAQ and an index page gives three
chunks of nearly the same text, and three of a question's five retrieved chunks then say one thing
while the passage that answers sits at rank 6. A chunk is a near-duplicate of a better-ranked one
when at least ``containment`` of the shorter text's word 5-grams occur in the other; only the
better-ranked chunk is kept. Consecutive chunks of one document (which share their 32-token
overlap) are far below the default containment and are both kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexes.types import SearchHit

__all__ = ["CONTAINMENT", "collapse_near_duplicates"]

CONTAINMENT = 0.9
"""Share of the shorter chunk's word 5-grams found in the other above which the two say the same."""

_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 5) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return frozenset(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def collapse_near_duplicates(
    hits: Sequence[SearchHit], limit: int, containment: float = CONTAINMENT
) -> list[SearchHit]:
    """The first ``limit`` hits of ``hits`` (best first) that are not near-duplicates of a better one.

    Guarantees: the order of the kept hits is their order in ``hits``; the first hit is always
    kept; a hit is dropped only for a better-ranked kept hit whose text contains it (see the module).
    """
    kept: list[tuple[SearchHit, frozenset[tuple[str, ...]]]] = []
    for hit in hits:
        if len(kept) == limit:
            break
        grams = _shingles(hit.chunk.text)
        if any(len(grams & other) >= containment * min(len(grams), len(other)) for _, other in kept):
            continue
        kept.append((hit, grams))
    return [hit for hit, _ in kept]
