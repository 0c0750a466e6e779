"""A bounded cache of text vectors of one embedding model, so repeated texts cost no model call.

The extractive answerer's sentences and the refusal signal's words repeat from question to question
(employees ask about the same passages); both keep their vectors here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from ingest.embedding import Embedder

__all__ = ["VectorCache"]


class VectorCache:
    """Vectors of up to ``size`` texts, least recently used dropped first; safe to share between threads.

    Meant for one model: callers keep one cache per embedding model (the vectors of two models do not mix).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, texts: Sequence[str], embedder: Embedder) -> dict[str, np.ndarray]:
        """The vector of each distinct text of ``texts`` by ``embedder``: cached ones as they are, the
        others from one ``encode_documents`` call (none when every text is cached). Every text
        becomes the most recently used; the cache then holds at most ``size`` texts."""
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            known = {t: self._vectors[t] for t in wanted if t in self._vectors}
        missing = [t for t in wanted if t not in known]
        if missing:
            known.update(zip(missing, embedder.encode_documents(missing), strict=True))
        with self._lock:
            for text in wanted:
                self._vectors[text] = known[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return known

    def clear(self) -> None:
        """Forget every vector."""
        with self._lock:
            self._vectors.clear()
