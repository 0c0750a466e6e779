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
        texts = list(dict.fromkeys([question, *sentences]))
        with lock:
            known = {t: cache[t] for t in texts if t in cache}
        # One model call for the question and the sentences not cached yet (one trip to the model worker);
        # the question is cached like a sentence (a gate's answer diff asks each question twice).
        missing = [t for t in texts if t not in known]
        if missing:
            known.update(zip(missing, embedder.encode_documents(missing), strict=True))
        with lock:
            for text in texts:
                cache[text] = known[text]
                cache.move_to_end(text)
            while len(cache) > SENTENCE_CACHE:
                cache.popitem(last=False)
        scores = np.stack([known[t] for t in sentences]) @ known[question]
        return [float(x) for x in scores]

    return similarity
