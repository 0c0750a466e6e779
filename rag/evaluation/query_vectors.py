"""A question set embedded ahead, in batches: every version searched for it reuses the vectors.

Answering the golden set on two versions searches each question twice; one query embedding is most
of a search's time (docs/benchmarks.md, issue 14 part 4), and one batch of many questions costs far
less than as many single calls. Vectors are the embedder's own, computed once per embedder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ingest.embedding import Embedder, EmbedderPool

__all__ = ["EmbeddedAhead"]


class EmbeddedAhead(EmbedderPool):
    """An embedder pool over ``pool`` whose embedders know ``questions``' vectors (embedded on first use
    of each model, in one batched call); other questions are embedded as usual. Closing it closes
    nothing: ``pool`` stays its owner's."""

    def __init__(self, pool: EmbedderPool, questions: Sequence[str]) -> None:
        super().__init__()
        self._pool = pool
        self._questions = list(dict.fromkeys(questions))
        self._views: dict[str, Embedder] = {}
        self._ahead_lock = threading.Lock()

    def get(self, model_id: str) -> Embedder:
        """The pool's embedder for ``model_id``, knowing the questions' vectors."""
        with self._ahead_lock:
            view = self._views.get(model_id)
            if view is None:
                embedder = self._pool.get(model_id)
                vectors = embedder.encode_documents(self._questions)
                view = self._views[model_id] = embedder.with_query_vectors(
                    {q: vectors[i] for i, q in enumerate(self._questions)}
                )
            return view

    def close(self) -> None:
        """Nothing to stop: the underlying pool belongs to its owner."""
