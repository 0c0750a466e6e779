"""Retrieval: embed the question with the version's own embedder, search the version, best first."""

from __future__ import annotations

import copy
import threading
from typing import Any

from indexes.engine import VectorEngine
from indexes.manifest import SparseSpec
from indexes.types import SearchHit, SearchQuery
from indexes.versions import ResolvedVersion
from ingest.embedding import Embedder, EmbedderPool
from ingest.sparse import SparseEncoder
from rag.errors import EmbedderUnavailable
from rag.near_duplicates import collapse_near_duplicates
from rag.question_scope import scope_of, scoped_doc_ids
from rag.reranking import Reranker
from rag.sentence_ranking import SentenceRanker

__all__ = ["Retriever"]

_SPARE_FOR_DUPLICATES = 10
"""At most this many extra chunks are fetched to fill the places of collapsed near-duplicates."""


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
        fusion: str = "dbsf",
        weights: tuple[float, float] | None = None,
        reranker: Reranker | None = None,
        rerank_candidates: int = 30,
        scope_questions: bool = True,
        collapse_duplicates: bool = True,
        sentence_ranker: SentenceRanker | None = None,
        sentence_candidates: int = 0,
    ) -> None:
        self.engine = engine
        self.embedders = embedders
        self.mode = mode
        self.prefetch_limit = prefetch_limit
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.weights = weights
        self.reranker = reranker
        self.rerank_candidates = rerank_candidates
        self.scope_questions = scope_questions
        self.collapse_duplicates = collapse_duplicates
        self.sentence_ranker = sentence_ranker
        self.sentence_candidates = sentence_candidates if sentence_ranker is not None else 0
        self._sparse: dict[SparseSpec, SparseEncoder] = {}
        self._lock = threading.Lock()

    def configured(self, **changes: Any) -> Retriever:
        """A retriever over the same engine and embedders with some settings changed (e.g. ``mode``)."""
        options = {
            "mode": self.mode,
            "prefetch_limit": self.prefetch_limit,
            "rrf_k": self.rrf_k,
            "fusion": self.fusion,
            "weights": self.weights,
            "reranker": self.reranker,
            "rerank_candidates": self.rerank_candidates,
            "scope_questions": self.scope_questions,
            "collapse_duplicates": self.collapse_duplicates,
            "sentence_ranker": self.sentence_ranker,
            "sentence_candidates": self.sentence_candidates,
        }
        unknown = set(changes) - set(options)
        if unknown:
            raise ValueError(f"unknown retrieval settings: {', '.join(sorted(unknown))}")
        return Retriever(self.engine, self.embedders, **{**options, **changes})

    def with_embedders(self, embedders: EmbedderPool) -> Retriever:
        """The same retriever (every setting, the same engine) taking its embedders from ``embedders``."""
        view = copy.copy(self)
        view.embedders = embedders
        return view

    def describe(self) -> dict[str, Any]:
        """The settings that shape a ranking, as plain values (for reports and answer records)."""
        return {
            "mode": self.mode,
            "fusion": self.fusion if self.mode == "hybrid" else None,
            "weights": list(self.weights) if self.weights and self.mode == "hybrid" else None,
            "rrf_k": self.rrf_k,
            "prefetch_limit": self.prefetch_limit,
            "reranker": self.reranker.name if self.reranker else None,
            "rerank_candidates": self.rerank_candidates if self.reranker else None,
            "scope_questions": self.scope_questions,
            "collapse_duplicates": self.collapse_duplicates,
            "sentence_candidates": self.sentence_candidates if self.reranker is None else 0,
        }

    def _sparse_encoder(self, spec: SparseSpec) -> SparseEncoder:
        with self._lock:
            encoder = self._sparse.get(spec)
            if encoder is None:
                encoder = self._sparse[spec] = SparseEncoder.from_spec(spec)
            return encoder

    def focus(self, version: ResolvedVersion, question: str) -> str:
        """What ``question`` asks once its scope is known (``rag.question_scope``); the question itself
        when scoping is off or the question names no single part of the version."""
        if not self.scope_questions:
            return question
        return scope_of(question, version.manifest.scopes, self._sparse_encoder(version.manifest.sparse)).focus

    def embedder_for(self, version: ResolvedVersion) -> Embedder:
        """The embedder recorded in ``version``'s manifest; ``EmbedderUnavailable`` when that name now
        loads a model of another dimension (never a silent mix)."""
        spec = version.manifest.embedder
        embedder = self.embedders.get(spec.model_id)
        if embedder.dimension != spec.dimension:
            raise EmbedderUnavailable(
                f"{version.index} v{version.version} was built with {spec.model_id} "
                f"({spec.dimension} dims) but that name now loads a {embedder.dimension}-dim model"
            )
        return embedder

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

        With a reranker, the ``max(limit, rerank_candidates)`` best fused chunks (after collapsing
        near-duplicates) are reordered by it and the first ``limit`` returned.

        ``groups`` (the caller's access groups) restricts the search, inside the engine's query, to
        chunks of documents in at least one of them; None searches every chunk.

        With ``collapse_duplicates``, a chunk that repeats a better-ranked one's text (the same
        passage published in two documents, ``rag.near_duplicates``) is left out and the next one
        takes its place: up to 10 extra chunks are fetched for that.

        With ``scope_questions``, a question that names one part of the version by its scope
        markers (``rag.question_scope``) is searched in that part only, unless ``doc_ids`` is given.

        Without a reranker and with ``sentence_candidates`` > 0, the first ``sentence_candidates``
        fused chunks are reordered by their best sentence (``rag.sentence_ranking``), judged by the
        version's own embedder against the question's focus.
        """
        embedder = self.embedder_for(version)
        dense = embedder.encode_query(question).tolist()
        sparse = self._sparse_encoder(version.manifest.sparse).encode_query(question)
        scope = (
            scope_of(question, version.manifest.scopes, self._sparse_encoder(version.manifest.sparse))
            if self.scope_questions
            else None
        )
        if doc_ids is None and scope is not None and scope.group is not None:
            doc_ids = scoped_doc_ids(version.manifest, scope.group)
        by_sentence = self.reranker is None and self.sentence_ranker is not None and self.sentence_candidates > 0
        if self.reranker:
            wanted = max(limit, self.rerank_candidates)
        else:
            wanted = max(limit, self.sentence_candidates) if by_sentence else limit
        fetch = wanted + min(wanted, _SPARE_FOR_DUPLICATES) if self.collapse_duplicates else wanted
        query = SearchQuery(
            dense=dense,
            sparse=sparse,
            limit=fetch,
            mode=mode or self.mode,
            prefetch_limit=max(self.prefetch_limit, fetch),
            rrf_k=self.rrf_k,
            doc_ids=doc_ids,
            fusion=self.fusion,
            weights=self.weights,
            groups=None if groups is None else list(groups),
        )
        hits = self.engine.search(version.index, version.version, query)
        if self.collapse_duplicates:
            hits = collapse_near_duplicates(hits, wanted)
        if self.reranker is not None:
            hits = self.reranker.rerank(question, hits)
        elif by_sentence and self.sentence_ranker is not None:
            focus = scope.focus if scope is not None else question
            hits = self.sentence_ranker.rerank(focus, hits, embedder, self.sentence_candidates)
        return hits[:limit]
