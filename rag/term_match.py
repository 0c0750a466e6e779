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
from rag.vector_cache import VectorCache

__all__ = ["WORD_CACHE", "clear_word_vectors", "content_words", "weakest_term_similarity"]

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


WORD_CACHE = 20_000
"""Word vectors kept per embedding model (384 floats each: about 30 MB), about the vocabulary of
the two real handbooks."""

_caches: dict[str, VectorCache] = {}
_lock = threading.Lock()


def _word_vectors(words: list[str], embedder: Embedder) -> np.ndarray:
    """The vectors of ``words`` by ``embedder``, from the process-wide cache of its model (so a build's
    calibration warms it for the questions that follow); one model call for the words not cached."""
    with _lock:
        cache = _caches.setdefault(embedder.model_id, VectorCache(WORD_CACHE))
    known = cache.vectors(words, embedder)
    return np.stack([known[w] for w in words])


def clear_word_vectors() -> None:
    """Forget every cached word vector (a benchmark's cold pass, a test's own count of model calls)."""
    with _lock:
        _caches.clear()


def weakest_term_similarity(focus: str, hits: Sequence[SearchHit], embedder: Embedder) -> float:
    """The lowest, over the content words of ``focus``, of the best cosine to a content word of the
    ``hits``' texts; 1.0 when every word of the question is in them as written (or it has no content
    word), 0.0 without hits. At most one model call, for the words not cached yet."""
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
    vectors = _word_vectors([*missing, *evidence], embedder)
    asked, held = vectors[: len(missing)], vectors[len(missing) :]
    return float((asked @ held.T).max(axis=1).min())
