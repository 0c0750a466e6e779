"""Retrieval: embed the question with the version's own embedder, search the version, best first."""

from __future__ import annotations

import threading

from indexes.engine import VectorEngine
from indexes.manifest import SparseSpec
from indexes.types import SearchHit, SearchQuery
from indexes.versions import ResolvedVersion
from ingest.embedding import EmbedderPool
from ingest.sparse import SparseEncoder
from rag.errors import EmbedderUnavailable

__all__ = ["Retriever"]


class Retriever:
    """Searches one resolved version.

    Guarantee: the question is embedded by the embedder recorded in the version's manifest and
    tokenized by its BM25 settings; a model whose dimension differs from the version's is an
    error, never a silent mix.
    """

    def __init__(
        self,
        engine: VectorEngine,
        embedders: EmbedderPool,
        *,
        mode: str = "hybrid",
        prefetch_limit: int = 50,
        rrf_k: int = 60,
    ) -> None:
        self.engine = engine
        self.embedders = embedders
        self.mode = mode
        self.prefetch_limit = prefetch_limit
        self.rrf_k = rrf_k
        self._sparse: dict[SparseSpec, SparseEncoder] = {}
        self._lock = threading.Lock()

    def _sparse_encoder(self, spec: SparseSpec) -> SparseEncoder:
        with self._lock:
            encoder = self._sparse.get(spec)
            if encoder is None:
                encoder = self._sparse[spec] = SparseEncoder.from_spec(spec)
            return encoder

    def search(
        self,
        version: ResolvedVersion,
        question: str,
        limit: int,
        *,
        doc_ids: list[str] | None = None,
        mode: str | None = None,
        groups: list[str] | None = None,
    ) -> list[SearchHit]:
        """The ``limit`` best chunks of the version for the question.

        ``groups`` (the caller's access groups) restricts the search, inside the engine's query, to
        chunks of documents in at least one of them; None searches every chunk.
        """
        spec = version.manifest.embedder
        embedder = self.embedders.get(spec.model_id)
        if embedder.dimension != spec.dimension:
            raise EmbedderUnavailable(
                f"{version.index} v{version.version} was built with {spec.model_id} "
                f"({spec.dimension} dims) but that name now loads a {embedder.dimension}-dim model"
            )
        dense = embedder.encode_query(question).tolist()
        sparse = self._sparse_encoder(version.manifest.sparse).encode_query(question)
        query = SearchQuery(
            dense=dense,
            sparse=sparse,
            limit=limit,
            mode=mode or self.mode,
            prefetch_limit=max(self.prefetch_limit, limit),
            rrf_k=self.rrf_k,
            doc_ids=doc_ids,
            groups=None if groups is None else list(groups),
        )
        return self.engine.search(version.index, version.version, query)
