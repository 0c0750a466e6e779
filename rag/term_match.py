"""How well the evidence's words stand for every word of the question, by meaning: a refusal signal.

A near-topic question that the documents do not answer usually shares its subject with them and
asks about one thing they never mention ("the *strike price* of my options", "*dues* for a
professional association"). Word overlap misses paraphrase ("home-office money" for "stipend"), and
a chunk's cosine to the whole question is dominated by the shared subject. The *weakest term
similarity* reads each content word of the question (the words BM25 keeps: no stop words) and finds
the evidence word most like it, by the version's own embedder applied to single words; the signal
is the lowest of those best matches. A word the evidence holds as written counts 1.0 without a
model call, so an answer whose words are all in its evidence costs nothing.

Measured (docs/benchmarks.md, "Issue 11, session 11"): with the best chunk's cosine it refused more
unanswerable questions at the same false-refusal limit than sentence coverage did, on the handbook
dev set and on the sample handbook's golden set alike.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from indexes.types import SearchHit
from ingest.embedding import Embedder
from ingest.sparse import SparseEncoder
from rag.answering.extractive import SentenceSimilarity
from rag.answering.similarity import sentence_similarity

__all__ = ["TermMatcher", "content_words"]

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_TERMS = SparseEncoder()


@lru_cache(maxsize=50_000)
def _kept(word: str) -> bool:
    """Whether BM25's analyzer keeps ``word`` (it drops stop words and bare punctuation)."""
    return bool(_TERMS.encode_query(word).indices)


@lru_cache(maxsize=4096)
def content_words(text: str) -> tuple[str, ...]:
    """The distinct content words of ``text``, lowercased, in their first order."""
    return tuple(dict.fromkeys(w for w in (m.lower() for m in _WORD.findall(text)) if _kept(w)))


class TermMatcher:
    """Computes :meth:`weakest` with one word-vector cache per embedding model (bounded LRU, shared
    by every question: the vocabulary of a corpus is finite, so warm questions cost no model call)."""

    def __init__(self) -> None:
        self._similarities: dict[str, SentenceSimilarity] = {}
        self._lock = threading.Lock()

    def _similarity(self, embedder: Embedder) -> SentenceSimilarity:
        with self._lock:
            found = self._similarities.get(embedder.model_id)
            if found is None:
                found = self._similarities[embedder.model_id] = sentence_similarity(embedder)
            return found

    def weakest(self, focus: str, hits: Sequence[SearchHit], embedder: Embedder) -> float:
        """The lowest, over the content words of ``focus``, of the best cosine to a content word of
        the ``hits``' texts; 1.0 when every word of the question is in them as written (or it has no
        content word), 0.0 without hits. At most one model call, for the words not cached yet."""
        if not hits:
            return 0.0
        evidence: dict[str, None] = {}
        for hit in hits:
            evidence.update(dict.fromkeys(content_words(hit.chunk.text)))
        missing = [w for w in content_words(focus) if w not in evidence]
        if not missing:
            return 1.0
        if not evidence:
            return 0.0
        similarity = self._similarity(embedder)
        words = list(evidence)
        similarity(missing[0], [*missing[1:], *words])  # the one model call: every text not cached yet
        return min(float(np.max(similarity(word, words))) for word in missing)
