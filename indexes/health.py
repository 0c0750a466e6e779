"""Storage health of index versions: a probe that opens a version and runs one real search.

A version the catalog calls ready may still be unusable: its shard directory deleted by hand, or
its files damaged. :class:`StorageHealth` finds out the way a question would, by a search, and
remembers the outcome for a short time so that readiness checks stay cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from indexes.engine import VectorEngine
from indexes.errors import InsufficientStorage, ShardBusy, StorageDamaged, StorageMissing
from indexes.types import SearchQuery, SparseVector
from rag.errors import RagError

__all__ = ["DAMAGED", "StorageHealth", "storage_missing"]

Clock = Callable[[], float]

DAMAGED = "damaged"
"""The state listings (API and CLI) show for a version the catalog calls ready whose storage is
missing or fails a search. It is never stored: repairing the files makes the version ready again."""


def storage_missing(engine: VectorEngine, index: str, version: int) -> StorageMissing:
    """The error for a ready version without storage: "storage of policies@2 is missing at <path>"."""
    return StorageMissing(f"storage of {index}@{version} is missing at {engine.storage_location(index, version)}")


@dataclass(frozen=True, slots=True)
class _Outcome:
    error: StorageDamaged | None
    at: float


class StorageHealth:
    """Probes versions of ``engine``; caches each outcome for ``ttl_s`` seconds of ``clock``.

    Guarantees: :meth:`probe` returns only after a search of the version succeeded, and otherwise
    raises StorageMissing (no storage) or StorageDamaged (it fails to open or search), never a
    raw engine error. InsufficientStorage and ShardBusy pass through: they say nothing about the
    version's files. :meth:`known_damage` never opens storage.
    """

    def __init__(self, engine: VectorEngine, *, ttl_s: float = 15.0, clock: Clock = time.monotonic) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._outcomes: dict[tuple[str, int], _Outcome] = {}

    def probe(self, index: str, version: int, dim: int) -> None:
        """Search the version now (a unit query vector of ``dim`` floats); raise when it fails."""
        key = (index, version)
        try:
            self._search(index, version, dim)
        except StorageDamaged as exc:
            self._remember(key, exc)
            raise
        self._remember(key, None)

    def check(self, index: str, version: int, dim: int) -> None:
        """Like :meth:`probe`, but answered from the last outcome while it is younger than the TTL."""
        with self._lock:
            last = self._outcomes.get((index, version))
        if last is not None and self._clock() - last.at < self._ttl_s:
            if last.error is not None:
                raise last.error
            return
        self.probe(index, version, dim)

    def known_damage(self, index: str, version: int) -> StorageDamaged | None:
        """The damage known without opening storage: missing storage, or the last failed probe."""
        if not self._engine.has_version(index, version):
            return storage_missing(self._engine, index, version)
        with self._lock:
            last = self._outcomes.get((index, version))
        return last.error if last is not None else None

    def _remember(self, key: tuple[str, int], error: StorageDamaged | None) -> None:
        with self._lock:
            self._outcomes[key] = _Outcome(error, self._clock())

    def _search(self, index: str, version: int, dim: int) -> None:
        if not self._engine.has_version(index, version):
            raise storage_missing(self._engine, index, version)
        query = SearchQuery(
            dense=[1.0] + [0.0] * (dim - 1), sparse=SparseVector([], []), limit=1, mode="dense", prefetch_limit=1
        )
        where = self._engine.storage_location(index, version)
        try:
            self._engine.search(index, version, query)
            self._engine.count(index, version)
        except (StorageDamaged, InsufficientStorage, ShardBusy):
            raise
        except RagError as exc:
            raise StorageDamaged(f"storage of {index}@{version} at {where} fails a search: {exc.message}") from exc
        except Exception as exc:
            raise StorageDamaged(f"storage of {index}@{version} at {where} fails a search: {exc}") from exc
