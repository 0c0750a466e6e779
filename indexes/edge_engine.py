"""The embedded vector engine: one Qdrant Edge shard directory per index version, in-process.

Layout on disk::

    <root>/<index>/v0001/    one Qdrant Edge shard (edge_config.json, segments/, wal/)
    <root>/<index>/v0002/    the next version of the same index

What each version holds:

- a named dense vector ``dense`` (cosine distance, ``dim`` floats; Qdrant stores it
  L2-normalized, so :meth:`EdgeEngine.iter_points` returns unit vectors),
- a named sparse vector ``bm25`` with the IDF modifier (documents carry BM25 term weights,
  Qdrant multiplies by the inverse document frequency of this version at search time),
- a keyword payload index on every field of :data:`indexes.engine.KEYWORD_FIELDS`,
- one point per chunk: the point id is ``ChunkRecord.chunk_id`` (a UUID string), the payload is
  ``ChunkRecord.to_payload()``. Re-writing a chunk id replaces the point (idempotent upserts).

Search modes: ``dense`` and ``sparse`` run one nearest-neighbour query on one vector;
``hybrid`` runs both as prefetches (``prefetch_limit`` each) and fuses them with reciprocal
rank fusion, ``score = sum(1 / (rrf_k + rank))`` with 0-based ranks. The ``doc_ids`` and
``groups`` filters (keyword matches on indexed payload fields) are applied in every prefetch and in
the fused query, so a chunk outside the caller's groups is never a candidate. ``SearchHit.similarity`` is always the
cosine between the query's dense vector and the hit's stored dense vector, whatever the mode.

Aliases live in an :class:`~indexes.alias_store.AliasStore` (the catalog), one row updated in one
transaction, so switching an alias is atomic. Alias names are checked by
:func:`indexes.engine.check_alias` and stored as given (``policies``, ``policies:canary``). An
alias whose version has been dropped resolves to None, as a Qdrant server forgets the aliases of a
deleted collection.

Deleting documents (:meth:`EdgeEngine.delete_documents`) is a delete-by-filter on the indexed
``doc_id`` payload field, flushed before the call returns.

Ordering: Edge returns points with equal fused scores in no fixed order (it differs from one
call to the next), so the engine fetches a few extra hits and orders them by score, then chunk id;
the same query on the same version gives the same hits.

Concurrency and files: opening a shard costs time, and an open shard holds an exclusive lock on
its write-ahead log, so a version directory can be open in one place only, in this process or
any other (a second ``EdgeShard.load`` fails with ``WouldBlock``; two processes cannot read the
same version at once). The engine opens each version at most once and keeps it in a cache
guarded by a lock. ``EdgeShard.query`` is safe to call from many threads at once (the contract
tests run 4 threads x 50 searches and compare with sequential results), so searches take no
lock; note that it holds the GIL for the whole call (measured), so concurrent searches are
correct but run one at a time, each parallelized over segments by Edge's own search threads.
``drop_version`` and ``close`` close shards under the lock; a search already running on a
dropped version raises :class:`~indexes.errors.VersionNotFound`, one running during ``close``
reopens the shard.

Disk and damage: before a shard is created, opened or written, the engine's
:class:`~indexes.disk_space.FreeSpace` guard checks the volume (InsufficientStorage, HTTP 507,
instead of a SIGBUS on a full volume). Shards keep their write-ahead log: Edge could create
them without one (``EdgeConfig(wal_enabled=False)``, which drops the 64 MB WAL file), but the
exclusive lock that keeps a version open in one process only is the WAL's lock, and the WAL file
is sparse (measured on tmpfs: opening a shard allocates ~64 KB of it, against ~34 MB of segment
mappings), so leaving it out would cost that guarantee and save little real disk. A shard that
fails to load or to answer a read for any reason other than a lock or a full disk raises
:class:`~indexes.errors.StorageDamaged` naming the version and its directory; a version whose
directory is gone is ``has_version`` False.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import qdrant_edge as qe

from indexes.alias_store import AliasStore
from indexes.disk_space import FreeSpace, is_disk_full
from indexes.engine import (
    DENSE_VECTOR,
    KEYWORD_FIELDS,
    SPARSE_VECTOR,
    VectorEngine,
    check_alias,
    check_doc_ids,
    check_query,
    check_version,
    dense_similarities,
    fetch_limit,
    rank_hits,
)
from indexes.errors import (
    EngineError,
    InsufficientStorage,
    InvalidInput,
    ShardBusy,
    StorageDamaged,
    VersionExists,
    version_not_found,
)
from indexes.types import ChunkRecord, IndexPoint, SearchHit, SearchQuery, SparseVector
from indexes.vector_storage import RESCORE_OVERSAMPLING, VectorStorage
from rag.errors import RagError

__all__ = ["KEYWORD_FIELDS", "EdgeEngine"]

_UPSERT_BATCH = 256
_SCROLL_PAGE = 256

_T = TypeVar("_T")


class EdgeEngine(VectorEngine):
    """Index versions as Qdrant Edge shards under ``root``; aliases kept in ``aliases``.

    Thread-safe: any method may be called from several threads. Call :meth:`close` (the API
    lifespan or the CLI does) to release the shards' files.
    """

    name: str = "edge"

    def __init__(
        self,
        root: Path,
        aliases: AliasStore,
        *,
        space: FreeSpace | None = None,
        storage: VectorStorage | None = None,
    ) -> None:
        self._root = Path(root)
        self._storage = storage or VectorStorage()
        self._aliases = aliases
        self._space = space or FreeSpace(self._root, 0)
        self._lock = threading.Lock()
        self._shards: dict[tuple[str, int], qe.EdgeShard] = {}

    def version_path(self, index: str, version: int) -> Path:
        """The shard directory of ``index`` version ``version`` (whether or not it exists)."""
        check_version(index, version)
        return self._root / index / f"v{version:04d}"

    def storage_location(self, index: str, version: int) -> str:
        """Where the version's storage lives, for messages: its shard directory."""
        return str(self.version_path(index, version))

    # --- VectorEngine ---------------------------------------------------------------------

    def create_version(self, index: str, version: int, dim: int) -> None:
        """Create an empty shard; raises VersionExists if the directory already holds one.

        On failure nothing is left behind: a partly created directory is removed.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InvalidInput(f"invalid dense vector size {dim!r}")
        path = self.version_path(index, version)
        with self._lock:
            if (index, version) in self._shards or _holds_shard(path):
                raise VersionExists(index, version)
            self._space.require(f"creating {index}@{version}")
            path.parent.mkdir(parents=True, exist_ok=True)
            shard: qe.EdgeShard | None = None
            try:
                shard = qe.EdgeShard.create(str(path), _edge_config(dim, self._storage))
                for field in KEYWORD_FIELDS:
                    shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
                shard.flush()
            except BaseException as exc:
                if shard is not None:
                    shard.close()
                shutil.rmtree(path, ignore_errors=True)
                _raise_if_disk_full(exc, self._space, f"creating {index}@{version}")
                raise
            self._shards[(index, version)] = shard

    def upsert(self, index: str, version: int, points: Sequence[IndexPoint]) -> None:
        """Write points in batches; a chunk id written twice is stored once (last write wins).

        Every point is checked before anything is written (chunk ids must be UUIDs).
        """
        edge_points = [_edge_point(point) for point in points]
        shard = self._shard(index, version)
        for start in range(0, len(edge_points), _UPSERT_BATCH):
            self._space.require(f"writing {index}@{version}")
            batch = edge_points[start : start + _UPSERT_BATCH]
            try:
                shard.update(qe.UpdateOperation.upsert_points(batch))
            except Exception as exc:
                _raise_if_disk_full(exc, self._space, f"writing {index}@{version}")
                raise

    def seal(self, index: str, version: int) -> None:
        """Flush the version to disk and run the optimizers until none has work left."""
        shard = self._shard(index, version)
        self._space.require(f"sealing {index}@{version}")
        try:
            shard.flush()
            shard.optimize()
        except Exception as exc:
            _raise_if_disk_full(exc, self._space, f"sealing {index}@{version}")
            raise

    def count(self, index: str, version: int) -> int:
        """Exact number of points in the version."""
        return self._read(index, version, lambda shard: shard.count(qe.CountRequest(exact=True)))

    def search(self, index: str, version: int, query: SearchQuery) -> list[SearchHit]:
        """Best ``query.limit`` hits, best first; equal scores are ordered by chunk id.

        Raises InvalidInput for a bad query and VersionNotFound for a missing version.
        An empty ``doc_ids`` list matches no document and returns no hits.
        """
        check_query(query)
        check_version(index, version)
        if (query.doc_ids is not None and not query.doc_ids) or (query.groups is not None and not query.groups):
            return []
        request = _query_request(query)
        scored = self._read(index, version, lambda shard: shard.query(request))
        return rank_hits(_hits(scored, query.dense), query.limit)

    def iter_points(self, index: str, version: int) -> Iterator[IndexPoint]:
        """Every point with both vectors and its chunk, paged by point id.

        Raises VersionNotFound immediately (not on first iteration) for a missing version.
        """
        shard = self._shard(index, version)
        return _scroll(shard)

    def has_version(self, index: str, version: int) -> bool:
        """Whether the version's shard directory exists and holds a shard.

        Decided by the directory alone: a shard still open here whose directory was removed
        is missing storage, not a version.
        """
        return _holds_shard(self.version_path(index, version))

    def delete_documents(self, index: str, version: int, doc_ids: Sequence[str]) -> int:
        """Delete the documents' chunks by a filter on the indexed ``doc_id`` field, then flush.

        Returns how many points matched (and were removed); an empty ``doc_ids`` removes nothing.
        Raises VersionNotFound for a missing version. The deletion is on disk when this returns.
        """
        ids = check_doc_ids(doc_ids)
        shard = self._shard(index, version)
        if not ids:
            return 0
        flt = _doc_filter(ids)
        assert flt is not None
        removed = int(shard.count(qe.CountRequest(exact=True, filter=flt)))
        if removed:
            self._space.require(f"deleting documents from {index}@{version}")
            shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
            shard.flush()
        return removed

    def drop_version(self, index: str, version: int) -> None:
        """Close the shard and delete its directory; a missing version is a no-op."""
        path = self.version_path(index, version)
        with self._lock:
            shard = self._shards.pop((index, version), None)
            if shard is not None:
                shard.close()
            if path.exists():
                shutil.rmtree(path)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # the index directory, once its last version is gone

    def set_alias(self, alias: str, index: str, version: int) -> None:
        """Point ``alias`` at an existing version in one catalog transaction.

        Raises VersionNotFound (and leaves the alias untouched) if the version does not exist.
        """
        check_alias(alias)
        if not self.has_version(index, version):
            raise version_not_found(index, version)
        self._aliases.set(alias, index, version)

    def resolve_alias(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) of ``alias``; None if it was never set or its version was dropped."""
        check_alias(alias)
        target = self._aliases.get(alias)
        if target is None or not self.has_version(*target):
            return None
        return target

    def delete_alias(self, alias: str) -> None:
        """Remove ``alias`` from the alias store; a missing alias is a no-op."""
        self._aliases.delete(check_alias(alias))

    def close(self) -> None:
        """Close every open shard; the engine stays usable and reopens shards on demand."""
        with self._lock:
            shards = list(self._shards.values())
            self._shards.clear()
            for shard in shards:
                shard.close()

    # --- internals ------------------------------------------------------------------------

    def _shard(self, index: str, version: int) -> qe.EdgeShard:
        """The open shard of a version, opening it once; VersionNotFound if it does not exist."""
        key = (index, version)
        shard = self._shards.get(key)
        if shard is not None:
            return shard
        path = self.version_path(index, version)
        with self._lock:
            shard = self._shards.get(key)
            if shard is None:
                if not _holds_shard(path):
                    raise version_not_found(index, version)
                self._space.require(f"opening {index}@{version}")
                try:
                    shard = qe.EdgeShard.load(str(path))
                except BaseException as exc:
                    if "WouldBlock" in str(exc):
                        raise ShardBusy(
                            f"{index} v{version} is open in another process (a running `rag serve`?); "
                            "stop it or send the request to its HTTP API"
                        ) from exc
                    _raise_if_disk_full(exc, self._space, f"opening {index}@{version}")
                    damaged = _damaged(exc, index, version, path, "cannot be opened")
                    if damaged is None:
                        raise
                    raise damaged from exc
                self._shards[key] = shard
            return shard

    def _read(self, index: str, version: int, op: Callable[[qe.EdgeShard], _T]) -> _T:
        """Run a read on the version's shard, surviving a concurrent ``close`` or ``drop_version``.

        If the shard was closed under the read (it is no longer the cached one), the read is
        retried once on a freshly opened shard, which raises VersionNotFound if it was dropped.
        Any other failure of the read is the version's storage failing: StorageDamaged.
        """
        shard = self._shard(index, version)
        try:
            return op(shard)
        except BaseException as exc:
            if self._shards.get((index, version)) is shard:
                damaged = _damaged(exc, index, version, self.version_path(index, version), "cannot be read")
                if damaged is None:
                    raise
                raise damaged from exc
        return op(self._shard(index, version))


def _holds_shard(path: Path) -> bool:
    """Whether ``path`` is a directory with content (Edge refuses to create a shard there)."""
    return path.is_dir() and any(path.iterdir())


def _raise_if_disk_full(exc: BaseException, space: FreeSpace, action: str) -> None:
    """Raise InsufficientStorage (from ``exc``) when ``exc`` says the volume is full."""
    if isinstance(exc, Exception) and is_disk_full(exc):
        raise InsufficientStorage(
            f"the data folder {space.folder} is full ({action} failed: {exc}); free space on that volume"
        ) from exc


def _damaged(exc: BaseException, index: str, version: int, path: Path, what: str) -> StorageDamaged | None:
    """StorageDamaged for an Edge failure; None for errors of the service itself and interrupts.

    Edge reports a Rust panic as ``PanicException``, which derives from BaseException.
    """
    if isinstance(exc, RagError) or not (isinstance(exc, Exception) or type(exc).__name__ == "PanicException"):
        return None
    return StorageDamaged(f"storage of {index}@{version} at {path} {what}: {exc}")


def _edge_config(dim: int, storage: VectorStorage) -> qe.EdgeConfig:
    quantization = (
        qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned)
        if storage.quantization == "int8"
        else None
    )
    dense = qe.EdgeVectorParams(
        size=dim,
        distance=qe.Distance.Cosine,
        memory=qe.Memory.Cold if storage.on_disk else None,
        quantization_config=quantization,
    )
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: dense},
        sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )


def _point_id(chunk_id: str) -> str:
    try:
        return str(uuid.UUID(chunk_id))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"chunk id {chunk_id!r} is not a UUID") from exc


def _edge_point(point: IndexPoint) -> qe.Point:
    return qe.Point(
        _point_id(point.chunk.chunk_id),
        {
            DENSE_VECTOR: [float(x) for x in point.dense],
            SPARSE_VECTOR: qe.SparseVector(list(point.sparse.indices), list(point.sparse.values)),
        },
        point.chunk.to_payload(),
    )


def _doc_filter(doc_ids: list[str] | None) -> qe.Filter | None:
    if doc_ids is None:
        return None
    return qe.Filter(must=[qe.FieldCondition(key="doc_id", match=qe.MatchAny(any=list(doc_ids)))])


def _search_filter(query: SearchQuery) -> qe.Filter | None:
    must: list[Any] = []
    if query.doc_ids is not None:
        must.append(qe.FieldCondition(key="doc_id", match=qe.MatchAny(any=list(query.doc_ids))))
    if query.groups is not None:
        must.append(qe.FieldCondition(key="groups", match=qe.MatchAny(any=list(query.groups))))
    return qe.Filter(must=must) if must else None


# A version holding int8 vectors is scanned with them and its best candidates rescored with the
# full vectors; on a version without quantization these parameters change nothing.
_DENSE_PARAMS = qe.SearchParams(
    quantization=qe.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
)


def _query_request(query: SearchQuery) -> qe.QueryRequest:
    flt = _search_filter(query)
    dense = qe.Query.Nearest([float(x) for x in query.dense], using=DENSE_VECTOR)
    sparse = qe.Query.Nearest(
        qe.SparseVector(list(query.sparse.indices), list(query.sparse.values)), using=SPARSE_VECTOR
    )
    common: dict[str, Any] = {
        "limit": fetch_limit(query),
        "filter": flt,
        "with_payload": True,
        "with_vector": [DENSE_VECTOR],
    }
    if query.mode == "dense":
        return qe.QueryRequest(query=dense, params=_DENSE_PARAMS, **common)
    if query.mode == "sparse":
        return qe.QueryRequest(query=sparse, **common)
    prefetches = [
        qe.Prefetch(limit=query.prefetch_limit, query=dense, filter=flt, params=_DENSE_PARAMS),
        qe.Prefetch(limit=query.prefetch_limit, query=sparse, filter=flt),
    ]
    # The stubs type the query as ``Fusion`` although ``Fusion.Rrf`` is what the binding takes.
    fusion: Any = (
        qe.Fusion.Dbsf()
        if query.fusion == "dbsf"
        else qe.Fusion.Rrf(k=query.rrf_k, weights=list(query.weights) if query.weights else None)
    )
    return qe.QueryRequest(query=fusion, prefetches=prefetches, **common)


def _vectors(vector: object) -> dict[str, Any]:
    if not isinstance(vector, dict):
        raise EngineError(f"expected named vectors, got {type(vector).__name__}")
    return vector


def _dense(vectors: dict[str, Any]) -> list[float]:
    dense = vectors.get(DENSE_VECTOR)
    if not isinstance(dense, list):
        raise EngineError("stored point has no dense vector")
    return [float(x) for x in dense]


def _payload(payload: dict[str, Any] | None) -> ChunkRecord:
    if payload is None:
        raise EngineError("stored point has no payload")
    return ChunkRecord.from_payload(payload)


def _stored_dense(point: qe.ScoredPoint) -> list[float]:
    dense = _vectors(point.vector).get(DENSE_VECTOR)
    if not isinstance(dense, list):
        raise EngineError("stored point has no dense vector")
    return dense


def _hits(points: Sequence[qe.ScoredPoint], query_dense: Sequence[float]) -> list[SearchHit]:
    """The search's points as hits, each with its stored dense vector's cosine to the query."""
    cosines = dense_similarities(query_dense, [_stored_dense(p) for p in points])
    return [
        SearchHit(chunk=_payload(p.payload), score=float(p.score), similarity=cosine)
        for p, cosine in zip(points, cosines, strict=True)
    ]


def _scroll(shard: qe.EdgeShard) -> Iterator[IndexPoint]:
    offset: Any = None
    while True:
        records, offset = shard.scroll(
            qe.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=True, with_vector=True)
        )
        for record in records:
            vectors = _vectors(record.vector)
            sparse = vectors.get(SPARSE_VECTOR)
            if not isinstance(sparse, qe.SparseVector):
                raise EngineError("stored point has no sparse vector")
            yield IndexPoint(
                chunk=_payload(record.payload),
                dense=_dense(vectors),
                sparse=SparseVector(indices=list(sparse.indices), values=list(sparse.values)),
            )
        if offset is None:
            return
