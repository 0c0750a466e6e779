"""The multi-host vector engine: index versions as collections of a Qdrant server or cluster.

Naming: ``index`` version 7 is the collection ``<prefix><index>__v0007``; an alias ``live`` is
the Qdrant alias ``<prefix>live``. The optional prefix lets several deployments share a server.
Qdrant names may not contain ``:`` (collection names never may, and an alias is used wherever a
collection name is), so the ``:`` of an alias such as ``policies:canary`` is spelled ``.`` on the
server: ``<prefix>policies.canary``. Valid alias and index names never contain ``.``
(:func:`indexes.engine.check_alias`), so no two aliases, and no alias and collection, share a
Qdrant name.

Each collection has the same shape as a Qdrant Edge shard of :mod:`indexes.edge_engine`: named
dense vector ``dense`` (cosine), named sparse vector ``bm25`` with the IDF modifier, keyword
payload indexes on :data:`indexes.engine.KEYWORD_FIELDS`, point id = chunk id, payload =
``ChunkRecord.to_payload()``. Searches use the same prefetches, filter and reciprocal rank fusion
(``models.RrfQuery(rrf=models.Rrf(k=rrf_k))``, the parametrized RRF of recent Qdrant servers;
older servers reject it), so both engines return the same hits with the same scores for the same
data. The one difference: points with equal scores inside one prefetch ranking may be ranked in
a different order by each engine, which changes their fused scores slightly.

Aliases are real Qdrant aliases. :meth:`QdrantServerEngine.set_alias` sends the delete of the old
alias and the creation of the new one in one ``update_collection_aliases`` request, which the
server applies atomically; deleting a collection deletes its aliases.

Deleting documents (:meth:`QdrantServerEngine.delete_documents`) is one delete request with a
filter on the indexed ``doc_id`` payload field, acknowledged (``wait=True``) before it returns.

The engine takes ownership of the client it is given (the composition root builds it for the
engine alone): :meth:`QdrantServerEngine.close` closes it. Tests run this engine over
``QdrantClient(":memory:")``, qdrant-client's local mode, which speaks the same API but ignores
payload indexes (and warns that it does) and searches by brute force.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from qdrant_client import QdrantClient, models

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
from indexes.errors import EngineError, InvalidInput, VersionExists, version_not_found
from indexes.types import ChunkRecord, IndexPoint, SearchHit, SearchQuery, SparseVector
from indexes.vector_storage import RESCORE_OVERSAMPLING, VectorStorage

__all__ = ["QdrantServerEngine"]

_UPSERT_BATCH = 256
_SCROLL_PAGE = 256
_VERSION_SEP = "__v"

_T = TypeVar("_T")

# As in the Edge engine: a quantized collection is scanned with its int8 vectors and its best
# candidates rescored with the full vectors.
_DENSE_PARAMS = models.SearchParams(
    quantization=models.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
)


def _vector_params(dim: int, storage: VectorStorage) -> models.VectorParams:
    quantization = (
        models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
        )
        if storage.quantization == "int8"
        else None
    )
    return models.VectorParams(
        size=dim,
        distance=models.Distance.COSINE,
        on_disk=True if storage.on_disk else None,
        quantization_config=quantization,
    )


class QdrantServerEngine(VectorEngine):
    """Index versions as collections ``<prefix><index>__v0001`` of the server behind ``client``.

    ``seal_timeout`` bounds how long :meth:`seal` waits for the server's optimizers.
    """

    name: str = "qdrant"

    def __init__(
        self,
        client: QdrantClient,
        prefix: str = "",
        *,
        seal_timeout: float = 600.0,
        storage: VectorStorage | None = None,
    ) -> None:
        self._client = client
        self._storage = storage or VectorStorage()
        # Rescoring is asked for while quantization is configured (qdrant-client's local mode warns
        # about any search parameter, and a server rescores quantized searches by default).
        self._dense_params = _DENSE_PARAMS if self._storage.quantization != "none" else None
        self._prefix = prefix
        self._seal_timeout = seal_timeout

    def collection_name(self, index: str, version: int) -> str:
        """The collection that stores ``index`` version ``version``."""
        check_version(index, version)
        return f"{self._prefix}{index}{_VERSION_SEP}{version:04d}"

    # --- VectorEngine ---------------------------------------------------------------------

    def storage_location(self, index: str, version: int) -> str:
        """Where the version's storage lives, for messages: its collection on the server."""
        return f"Qdrant collection {self.collection_name(index, version)}"

    def create_version(self, index: str, version: int, dim: int) -> None:
        """Create the collection and its payload indexes; VersionExists if it already exists.

        If creating the payload indexes fails, the new collection is deleted again.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InvalidInput(f"invalid dense vector size {dim!r}")
        name = self.collection_name(index, version)
        if self._client.collection_exists(name):
            raise VersionExists(index, version)
        try:
            self._client.create_collection(
                name,
                vectors_config={DENSE_VECTOR: _vector_params(dim, self._storage)},
                sparse_vectors_config={
                    SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF),
                },
            )
        except Exception as exc:
            # Lost a race with another creator: the server refuses an existing name.
            if self._client.collection_exists(name):
                raise VersionExists(index, version) from exc
            raise
        try:
            for field in KEYWORD_FIELDS:
                self._client.create_payload_index(name, field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True)
        except BaseException:
            self._client.delete_collection(name)
            raise

    def upsert(self, index: str, version: int, points: Sequence[IndexPoint]) -> None:
        """Write points in batches, each acknowledged (``wait=True``) before the next is sent.

        A chunk id written twice is stored once (last write wins). Every point is checked before
        anything is sent (chunk ids must be UUIDs).
        """
        name = self.collection_name(index, version)
        structs = [_point_struct(point) for point in points]
        for start in range(0, len(structs), _UPSERT_BATCH):
            batch = structs[start : start + _UPSERT_BATCH]
            self._guard(index, version, partial(self._client.upsert, name, points=batch, wait=True))

    def seal(self, index: str, version: int) -> None:
        """Wait until the server's optimizers have finished with the collection.

        The server flushes and optimizes on its own; raises EngineError after ``seal_timeout``.
        """
        name = self.collection_name(index, version)
        deadline = time.monotonic() + self._seal_timeout
        while True:
            info = self._guard(index, version, lambda: self._client.get_collection(name))
            if info.status != models.CollectionStatus.YELLOW:
                return
            if time.monotonic() > deadline:
                raise EngineError(f"collection {name!r} still optimizing after {self._seal_timeout:g} s")
            time.sleep(0.5)

    def count(self, index: str, version: int) -> int:
        """Exact number of points in the version."""
        name = self.collection_name(index, version)
        return self._guard(index, version, lambda: self._client.count(name, exact=True).count)

    def search(self, index: str, version: int, query: SearchQuery) -> list[SearchHit]:
        """Best ``query.limit`` hits, best first; equal scores are ordered by chunk id.

        Raises InvalidInput for a bad query and VersionNotFound for a missing version.
        An empty ``doc_ids`` or ``groups`` list matches nothing and returns no hits; both filters
        apply in every prefetch and in the fused query.
        """
        check_query(query)
        name = self.collection_name(index, version)
        if (query.doc_ids is not None and not query.doc_ids) or (query.groups is not None and not query.groups):
            return []
        flt = _search_filter(query)
        dense = [float(x) for x in query.dense]
        sparse = models.SparseVector(indices=list(query.sparse.indices), values=list(query.sparse.values))
        kwargs: dict[str, Any] = {
            "query_filter": flt,
            "limit": fetch_limit(query),
            "with_payload": True,
            "with_vectors": [DENSE_VECTOR],
        }
        if query.mode == "dense":
            kwargs.update(query=dense, using=DENSE_VECTOR, search_params=self._dense_params)
        elif query.mode == "sparse":
            kwargs.update(query=sparse, using=SPARSE_VECTOR)
        else:
            kwargs["prefetch"] = [
                models.Prefetch(
                    query=dense, using=DENSE_VECTOR, limit=query.prefetch_limit, filter=flt, params=self._dense_params
                ),
                models.Prefetch(query=sparse, using=SPARSE_VECTOR, limit=query.prefetch_limit, filter=flt),
            ]
            kwargs["query"] = (
                models.FusionQuery(fusion=models.Fusion.DBSF)
                if query.fusion == "dbsf"
                else models.RrfQuery(
                    rrf=models.Rrf(k=query.rrf_k, weights=list(query.weights) if query.weights else None)
                )
            )
        response = self._guard(index, version, partial(self._client.query_points, name, **kwargs))
        return rank_hits(_hits(response.points, query.dense), query.limit)

    def iter_points(self, index: str, version: int) -> Iterator[IndexPoint]:
        """Every point with both vectors and its chunk, paged with scroll.

        Raises VersionNotFound immediately (not on first iteration) for a missing version.
        """
        name = self.collection_name(index, version)
        if not self._client.collection_exists(name):
            raise version_not_found(index, version)
        return self._scroll(index, version, name)

    def has_version(self, index: str, version: int) -> bool:
        """Whether the version's collection exists."""
        return self._client.collection_exists(self.collection_name(index, version))

    def delete_documents(self, index: str, version: int, doc_ids: Sequence[str]) -> int:
        """Delete the documents' chunks with one filtered delete, acknowledged before returning.

        Returns how many points matched (and were removed); an empty ``doc_ids`` removes nothing.
        Raises VersionNotFound for a missing version.
        """
        ids = check_doc_ids(doc_ids)
        name = self.collection_name(index, version)
        if not self._client.collection_exists(name):
            raise version_not_found(index, version)
        if not ids:
            return 0
        flt = _doc_filter(ids)
        assert flt is not None
        removed = self._guard(index, version, lambda: self._client.count(name, count_filter=flt, exact=True).count)
        if removed:
            selector = models.FilterSelector(filter=flt)
            self._guard(index, version, partial(self._client.delete, name, points_selector=selector, wait=True))
        return int(removed)

    def drop_version(self, index: str, version: int) -> None:
        """Delete the collection (and with it the aliases naming it); missing is a no-op."""
        name = self.collection_name(index, version)
        if self._client.collection_exists(name):
            self._client.delete_collection(name)

    def set_alias(self, alias: str, index: str, version: int) -> None:
        """Delete and recreate the alias in one server-side atomic request.

        Raises VersionNotFound (and leaves the alias untouched) if the version does not exist.
        """
        alias_name = self._alias_name(alias)
        name = self.collection_name(index, version)
        if not self._client.collection_exists(name):
            raise version_not_found(index, version)
        self._client.update_collection_aliases(
            change_aliases_operations=[
                # Deleting an alias that does not exist is a no-op on the server.
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias_name)),
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=name, alias_name=alias_name)
                ),
            ]
        )

    def resolve_alias(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) of ``alias``; None if it does not exist or names a foreign collection."""
        alias_name = self._alias_name(alias)
        for description in self._client.get_aliases().aliases:
            if description.alias_name == alias_name:
                return self._parse_collection_name(description.collection_name)
        return None

    def delete_alias(self, alias: str) -> None:
        """Delete the Qdrant alias; deleting an alias that does not exist is a no-op."""
        alias_name = self._alias_name(alias)
        if not any(d.alias_name == alias_name for d in self._client.get_aliases().aliases):
            return
        self._client.update_collection_aliases(
            change_aliases_operations=[
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias_name)),
            ]
        )

    def close(self) -> None:
        """Close the client (idempotent): the engine owns the client it was given."""
        self._client.close()

    # --- internals ------------------------------------------------------------------------

    def _alias_name(self, alias: str) -> str:
        """The Qdrant name of ``alias``: the prefix, then the alias with ``:`` spelled ``.``."""
        return f"{self._prefix}{check_alias(alias).replace(':', '.')}"

    def _parse_collection_name(self, name: str) -> tuple[str, int] | None:
        if not name.startswith(self._prefix):
            return None
        index, sep, digits = name[len(self._prefix) :].rpartition(_VERSION_SEP)
        if not sep or not index or not digits.isdigit():
            return None
        return index, int(digits)

    def _guard(self, index: str, version: int, call: Callable[[], _T]) -> _T:
        """Run a client call; a failure on a collection that does not exist is VersionNotFound.

        The client reports a missing collection differently per transport (HTTP 404, gRPC
        NOT_FOUND, ValueError in local mode), so existence is checked only after a failure.
        """
        try:
            return call()
        except Exception as exc:
            if not self._client.collection_exists(self.collection_name(index, version)):
                raise version_not_found(index, version) from exc
            raise

    def _scroll(self, index: str, version: int, name: str) -> Iterator[IndexPoint]:
        offset: Any = None
        while True:
            page = partial(
                self._client.scroll,
                name,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            records, offset = self._guard(index, version, page)
            for record in records:
                vectors = _vectors(record.vector)
                sparse = vectors.get(SPARSE_VECTOR)
                if not isinstance(sparse, models.SparseVector):
                    raise EngineError("stored point has no sparse vector")
                yield IndexPoint(
                    chunk=_payload(record.payload),
                    dense=_dense(vectors),
                    sparse=SparseVector(indices=list(sparse.indices), values=list(sparse.values)),
                )
            if offset is None:
                return


def _point_struct(point: IndexPoint) -> models.PointStruct:
    try:
        point_id = str(uuid.UUID(point.chunk.chunk_id))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"chunk id {point.chunk.chunk_id!r} is not a UUID") from exc
    return models.PointStruct(
        id=point_id,
        vector={
            DENSE_VECTOR: [float(x) for x in point.dense],
            SPARSE_VECTOR: models.SparseVector(indices=list(point.sparse.indices), values=list(point.sparse.values)),
        },
        payload=point.chunk.to_payload(),
    )


def _doc_filter(doc_ids: list[str] | None) -> models.Filter | None:
    if doc_ids is None:
        return None
    return models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))])


def _search_filter(query: SearchQuery) -> models.Filter | None:
    must: list[models.Condition] = []
    if query.doc_ids is not None:
        must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(query.doc_ids))))
    if query.groups is not None:
        must.append(models.FieldCondition(key="groups", match=models.MatchAny(any=list(query.groups))))
    return models.Filter(must=must) if must else None


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


def _hits(points: Sequence[models.ScoredPoint], query_dense: Sequence[float]) -> list[SearchHit]:
    """The response's points as hits, each with its stored dense vector's cosine to the query."""
    cosines = dense_similarities(query_dense, [_dense(_vectors(p.vector)) for p in points])
    return [
        SearchHit(chunk=_payload(p.payload), score=float(p.score), similarity=cosine)
        for p, cosine in zip(points, cosines, strict=True)
    ]
