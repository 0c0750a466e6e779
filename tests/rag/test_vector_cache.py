"""The bounded vector cache shared by the answerer's sentences and the refusal signal's words."""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.embedding import Embedder
from rag.vector_cache import VectorCache


class _Counting:
    """The real embedder, recording the texts of each call."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.calls: list[list[str]] = []

    def encode_documents(self, texts: list[str]) -> Any:
        self.calls.append(list(texts))
        return self.inner.encode_documents(texts)


def test_only_texts_not_cached_reach_the_model_in_one_call(embedder: Embedder) -> None:
    counting = _Counting(embedder)
    cache = VectorCache(10)
    first = cache.vectors(["leave", "travel", "leave"], counting)  # type: ignore[arg-type]
    assert counting.calls == [["leave", "travel"]]
    again = cache.vectors(["travel", "stipend"], counting)  # type: ignore[arg-type]
    assert counting.calls[1] == ["stipend"]
    assert np.allclose(again["travel"], first["travel"])
    assert np.allclose(again["stipend"], embedder.encode_documents(["stipend"])[0], atol=1e-5)


def test_the_least_recently_used_text_is_dropped_first(embedder: Embedder) -> None:
    counting = _Counting(embedder)
    cache = VectorCache(2)
    cache.vectors(["a leave"], counting)  # type: ignore[arg-type]
    cache.vectors(["b travel"], counting)  # type: ignore[arg-type]
    cache.vectors(["a leave"], counting)  # type: ignore[arg-type]  # used again: now the most recent
    cache.vectors(["c stipend"], counting)  # type: ignore[arg-type]  # over the size: "b travel" goes
    assert len(cache) == 2
    cache.vectors(["a leave"], counting)  # type: ignore[arg-type]
    cache.vectors(["b travel"], counting)  # type: ignore[arg-type]
    assert counting.calls == [["a leave"], ["b travel"], ["c stipend"], ["b travel"]]
    cache.clear()
    assert len(cache) == 0
