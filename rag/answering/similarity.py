"""The extractive answerer's meaning signal: the cosine of sentences to a question, with cached vectors."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ingest.embedding import Embedder
from rag.answering.extractive import SentenceSimilarity

__all__ = ["SENTENCE_CACHE", "sentence_similarity"]

SENTENCE_CACHE = 20_000
"""How many sentence vectors the extractive answerer keeps (384 floats each: about 30 MB)."""


def sentence_similarity(embedder: Embedder) -> SentenceSimilarity:
    """Cosine of each sentence to the question, by ``embedder`` (the extractive answerer's semantic signal).

    Sentence vectors are kept in a bounded LRU cache (:data:`SENTENCE_CACHE` texts): the passages
    employees ask about repeat, and a cached one costs no model call.
    """

    cache: OrderedDict[str, np.ndarray] = OrderedDict()
    lock = threading.Lock()

    def similarity(question: str, sentences: list[str]) -> list[float]:
        with lock:
            missing = [s for s in dict.fromkeys(sentences) if s not in cache]
        # One model call for the question and the sentences not cached yet (one trip to the model worker).
        rows_in = embedder.encode_documents([question, *missing])
        asked = rows_in[0]
        vectors = dict(zip(missing, rows_in[1:], strict=True))
        with lock:
            for text, vector in vectors.items():
                cache[text] = vector
            rows = []
            for text in sentences:
                rows.append(cache[text] if text in cache else vectors[text])
                if text in cache:
                    cache.move_to_end(text)
            while len(cache) > SENTENCE_CACHE:
                cache.popitem(last=False)
        scores = np.stack(rows) @ asked
        return [float(x) for x in scores]

    return similarity
