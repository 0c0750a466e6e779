"""The one small interface both vector engines implement (Qdrant Edge, Qdrant server).

Below the protocol sit the few pieces both implementations share so that they keep the same
contract: the vector names, the indexed payload fields, name and query validation, the dense
similarity of a hit and the final ordering of hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from indexes.errors import InvalidInput
from indexes.refs import check_index_name
from indexes.types import IndexPoint, SearchHit, SearchQuery

__all__ = [
    "ALIAS_NAME",
    "DENSE_VECTOR",
    "FUSIONS",
    "KEYWORD_FIELDS",
    "SEARCH_MODES",
    "SPARSE_VECTOR",
    "VectorEngine",
    "check_alias",
    "check_doc_ids",
    "check_query",
    "check_version",
    "dense_similarities",
    "fetch_limit",
    "rank_hits",
]


class VectorEngine(Protocol):
    """Stores one vector collection per (index name, version) and names live versions by alias.

    Guarantees every implementation keeps:
    - ``create_version`` fails if the version already exists (versions are immutable once built).
    - ``upsert`` is idempotent: writing the same chunk ids twice never duplicates points.
    - ``set_alias`` is atomic: a reader sees the old target or the new one, never neither.
    - ``search`` reads exactly the version it is given.
    - ``delete_documents`` removes every chunk of the given documents from one version, and
      nothing else; afterwards no search of that version returns them.
    - Alias names are checked by :func:`check_alias` (``policies`` or ``policies:canary``).
    """

    name: str

    def create_version(self, index: str, version: int, dim: int) -> None:
        """Create the empty storage for ``index`` version ``version`` with ``dim``-sized dense vectors."""
        ...

    def upsert(self, index: str, version: int, points: Sequence[IndexPoint]) -> None:
        """Write points into a version that is being built."""
        ...

    def seal(self, index: str, version: int) -> None:
        """Flush and optimize a freshly built version; after this it is only read."""
        ...

    def count(self, index: str, version: int) -> int:
        """Number of points stored in the version."""
        ...

    def search(self, index: str, version: int, query: SearchQuery) -> list[SearchHit]:
        """Best ``query.limit`` chunks of the version, best first."""
        ...

    def iter_points(self, index: str, version: int) -> Iterator[IndexPoint]:
        """Every stored point with its vectors (used to reuse vectors in incremental builds)."""
        ...

    def has_version(self, index: str, version: int) -> bool:
        """Whether storage for the version exists."""
        ...

    def storage_location(self, index: str, version: int) -> str:
        """Where the version's storage lives (a directory, a collection), for messages to operators."""
        ...

    def delete_documents(self, index: str, version: int, doc_ids: Sequence[str]) -> int:
        """Delete every chunk whose ``doc_id`` is in ``doc_ids``; returns how many were removed."""
        ...

    def drop_version(self, index: str, version: int) -> None:
        """Delete the version's storage; dropping a missing version is a no-op."""
        ...

    def set_alias(self, alias: str, index: str, version: int) -> None:
        """Point ``alias`` at ``index`` version ``version`` in one atomic step."""
        ...

    def resolve_alias(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) the alias names, or None when the alias does not exist."""
        ...

    def delete_alias(self, alias: str) -> None:
        """Remove ``alias``; removing an alias that does not exist is a no-op."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


# --- Shared by the implementations -------------------------------------------------------------

DENSE_VECTOR = "dense"
"""Name of the dense (embedding) vector in every version; cosine distance."""

SPARSE_VECTOR = "bm25"
"""Name of the sparse BM25 vector in every version; the engine applies IDF at search time."""

KEYWORD_FIELDS: tuple[str, ...] = ("doc_id", "groups")
"""Payload fields that get a keyword index in every new version; add a field here to index it."""

SEARCH_MODES = frozenset({"hybrid", "dense", "sparse"})
"""Values ``SearchQuery.mode`` may take."""
FUSIONS = frozenset({"rrf", "dbsf"})
"""Values ``SearchQuery.fusion`` may take."""

# Equal fused scores are common (rank 1 + rank 3 ties rank 3 + rank 1), and Qdrant returns tied
# points in no fixed order. Engines fetch this many extra hits and order ties by chunk id, so
# the same query gives the same answer unless more than this many hits tie at the cut.
_TIE_SLACK = 16


ALIAS_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}(?::[a-z0-9][a-z0-9_-]{0,62})?$")
"""Valid alias names: an index name, optionally followed by ``:`` and a label (``policies:canary``).

Alias names never contain ``.``, which lets the server engine spell ``:`` as ``.`` in Qdrant
(whose names may not contain ``:``) without two aliases ever sharing a Qdrant name.
"""


def check_alias(alias: str) -> str:
    """Return ``alias`` if it matches :data:`ALIAS_NAME`; raise InvalidInput otherwise."""
    if not isinstance(alias, str) or not ALIAS_NAME.fullmatch(alias):
        raise InvalidInput(f"invalid alias {alias!r}: use an index name, optionally followed by ':label'")
    return alias


def check_doc_ids(doc_ids: Sequence[str]) -> list[str]:
    """The document ids as a list; raise InvalidInput unless every one is a non-empty string."""
    if isinstance(doc_ids, str):
        raise InvalidInput("doc_ids must be a sequence of document ids, not one string")
    ids = list(doc_ids)
    if any(not isinstance(doc_id, str) or not doc_id for doc_id in ids):
        raise InvalidInput(f"invalid document ids {ids!r}: each must be a non-empty string")
    return ids


def check_version(index: str, version: int) -> None:
    """Raise InvalidInput unless ``index`` is a valid index name and ``version`` an integer >= 1.

    Valid names (:func:`indexes.refs.check_index_name`) are safe as a directory name and inside
    a Qdrant collection name.
    """
    check_index_name(index)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"invalid version {version!r}: versions are integers >= 1")


def check_query(query: SearchQuery) -> None:
    """Raise InvalidInput when the query cannot be run (unknown mode, non-positive limits)."""
    if query.mode not in SEARCH_MODES:
        raise InvalidInput(f"unknown search mode {query.mode!r}; use one of {sorted(SEARCH_MODES)}")
    if query.limit < 1 or query.prefetch_limit < 1:
        raise InvalidInput("limit and prefetch_limit must be at least 1")
    if query.rrf_k < 1:
        raise InvalidInput("rrf_k must be at least 1")
    if query.fusion not in FUSIONS:
        raise InvalidInput(f"unknown fusion {query.fusion!r}; use one of {sorted(FUSIONS)}")
    if query.weights is not None and (
        len(query.weights) != 2 or not all(w >= 0 for w in query.weights) or not any(query.weights)
    ):
        raise InvalidInput("weights must be two non-negative numbers (dense, sparse), not both 0")


def fetch_limit(query: SearchQuery) -> int:
    """How many hits to ask the engine for, so that :func:`rank_hits` can order ties stably."""
    return query.limit + _TIE_SLACK


def dense_similarities(query: Sequence[float], stored: Sequence[Sequence[float]]) -> list[float]:
    """Cosine similarity of ``query`` to each of ``stored``, in order; 0.0 where either vector is zero.

    One matrix product in float64 for all hits of a search (per hit in Python, this was a seventh
    of the busy time of ``POST /v1/ask`` under load; docs/benchmarks.md, issue 17).
    """
    if not stored:
        return []
    a = np.asarray(query, dtype=np.float64)
    b = np.asarray(stored, dtype=np.float64)
    norms = np.linalg.norm(b, axis=1) * float(np.linalg.norm(a))
    dots = b @ a
    cosines = np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0.0)
    return [float(x) for x in cosines]


def rank_hits(hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The best ``limit`` hits, by score descending and then chunk id (a total, stable order)."""
    return sorted(hits, key=lambda hit: (-hit.score, hit.chunk.chunk_id))[:limit]
