"""The weakest term similarity: each question word's best match among the evidence's words, by meaning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from indexes.types import ChunkRecord, SearchHit
from ingest.embedding import Embedder
from rag.term_match import clear_word_vectors, content_words, weakest_term_similarity


def _hit(text: str) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id="c",
        doc_id="d",
        title="T",
        heading_path=[],
        page=None,
        start=0,
        end=len(text),
        text=text,
        token_count=5,
        content_hash="h",
        source="d.md",
    )
    return SearchHit(chunk=chunk, score=1.0, similarity=0.5)


class _Counting:
    """The real embedder, counting its calls."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.calls = 0

    def encode_documents(self, texts: list[str]) -> Any:
        self.calls += 1
        return self.inner.encode_documents(texts)


EVIDENCE = [_hit("Employees receive a monthly stipend for internet and phone costs."), _hit("Payments arrive by May.")]


def test_content_words_drop_stop_words_and_keep_first_order() -> None:
    words = content_words("How much is the Internet stipend, and is the stipend taxed?")
    assert words == ("much", "internet", "stipend", "taxed")


def test_words_held_as_written_score_one_without_a_model_call(embedder: Embedder) -> None:
    clear_word_vectors()
    counting = _Counting(embedder)
    assert weakest_term_similarity("Is there an internet stipend?", EVIDENCE, counting) == 1.0  # type: ignore[arg-type]
    assert counting.calls == 0
    assert weakest_term_similarity("anything at all", [], counting) == 0.0  # type: ignore[arg-type]


def test_a_paraphrase_matches_better_than_a_word_the_evidence_never_touches(embedder: Embedder) -> None:
    clear_word_vectors()
    counting = _Counting(embedder)
    paraphrase = weakest_term_similarity("Is there a monthly allowance for internet?", EVIDENCE, counting)  # type: ignore[arg-type]
    absent = weakest_term_similarity("Is there a monthly karaoke night?", EVIDENCE, counting)  # type: ignore[arg-type]
    assert 0.0 < absent < paraphrase < 1.0
    # the value is the best cosine of the weakest word, computed by the embedder itself
    words = list(content_words(EVIDENCE[0].chunk.text) + content_words(EVIDENCE[1].chunk.text))
    vectors = embedder.encode_documents(["karaoke", *words])
    assert absent == pytest.approx(float(np.max(vectors[1:] @ vectors[0])), abs=1e-4)
    calls = counting.calls
    assert calls == 2  # one call per question: the evidence's words were cached by the first
    fresh = _Counting(embedder)  # another embedder object of the same model: the cache is the model's
    weakest_term_similarity("Is there a monthly karaoke night?", EVIDENCE, fresh)  # type: ignore[arg-type]
    assert fresh.calls == 0  # warm: no model call
