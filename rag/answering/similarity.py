"""The extractive answerer's meaning signal: the cosine of sentences to a question, with cached vectors."""

from __future__ import annotations

import numpy as np

from ingest.embedding import Embedder
from rag.answering.extractive import SentenceSimilarity
from rag.vector_cache import VectorCache

__all__ = ["SENTENCE_CACHE", "sentence_similarity"]

SENTENCE_CACHE = 20_000
"""How many sentence vectors the extractive answerer keeps (384 floats each: about 30 MB)."""


def sentence_similarity(embedder: Embedder) -> SentenceSimilarity:
    """Cosine of each sentence to the question, by ``embedder`` (the extractive answerer's semantic signal).

    Sentence vectors are kept in a bounded LRU cache (:data:`SENTENCE_CACHE` texts): the passages
    employees ask about repeat, and a cached one costs no model call. The question is cached like a
    sentence (a gate's answer diff asks each question twice); one model call covers the question and
    the sentences not cached yet (one trip to the model worker).
    """

    cache = VectorCache(SENTENCE_CACHE)

    def similarity(question: str, sentences: list[str]) -> list[float]:
        known = cache.vectors([question, *sentences], embedder)
        scores = np.stack([known[t] for t in sentences]) @ known[question]
        return [float(x) for x in scores]

    return similarity
