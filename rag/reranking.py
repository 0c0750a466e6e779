"""Optional cross-encoder reranking of fused candidates (sentence-transformers ``CrossEncoder``).

Off by default: no reranker weights ship with a package here. A configured model that cannot be
loaded is an error when the services start, never at the first question.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from indexes.types import SearchHit
from rag.errors import RagError

__all__ = ["Reranker", "RerankerUnavailable", "load_reranker"]


class RerankerUnavailable(RagError):
    """The configured reranker model cannot be loaded (unknown name, no local weights, bad files)."""

    code = "reranker_unavailable"
    status = 503


class Reranker:
    """Reorders hits by a cross-encoder's relevance score of (question, chunk text).

    Guarantees: the result is a permutation of the input hits, ordered by the model's score (ties
    keep their fused order); ``similarity`` (the refusal signal) is left as it was and ``score``
    becomes the cross-encoder's.
    """

    def __init__(self, model: object, name: str) -> None:
        self._model = model
        self.name = name
        self._lock = threading.Lock()

    def rerank(self, question: str, hits: list[SearchHit]) -> list[SearchHit]:
        """``hits`` best first by the cross-encoder."""
        if not hits:
            return []
        pairs = [(question, h.chunk.text) for h in hits]
        with self._lock:
            scores = self._model.predict(pairs, show_progress_bar=False)  # type: ignore[attr-defined]
        order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), i))
        return [replace(hits[i], score=float(scores[i])) for i in order]


def load_reranker(name: str, device: str = "cpu") -> Reranker:
    """Load a cross-encoder from a local folder or the local cache; never downloads.

    Raises ``RerankerUnavailable`` naming the model and the reason.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(name, device=device, local_files_only=True)
    except Exception as exc:
        raise RerankerUnavailable(
            f"cannot load reranker model {name!r}: {type(exc).__name__}: {exc}. "
            "Set RAG_RERANKER_MODEL to a local cross-encoder folder, or unset it to run without a reranker."
        ) from exc
    return Reranker(model, name)
