"""Sentence-level evidence: the best fused chunks reordered by how well their best sentence answers.

A chunk is a few hundred tokens; the fact an employee asks for is one sentence of it. Hybrid
search scores the whole chunk, so a chunk about the right subject outranks the one holding the
answering sentence ("right document, wrong chunk"). Here each of the first ``candidates`` chunks is
scored by its best sentence: of the ``per_chunk`` sentences holding the most question terms, the
best cosine of the question's focus to the sentence with the one before
it, preceded by its heading path (the same text the extractive answerer judges, so their vectors
are shared through one cache), plus a prior from the fused rank, ``prior / (1 + rank)``, so that
the search's own order still counts.

On the handbook dev set this raised evidence hit@5 (a top-5 chunk holds the answer phrase) from
0.81 to 0.85-0.88 for candidate counts from 10 to 20, priors from 0.5 to 1 and 3 sentences per
chunk or all of them (docs/benchmarks.md, issue 11); 3 of about 6 halves the sentences embedded
per question (about 40). The bi-encoder is the project's own embedder, no other model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

from indexes.types import SearchHit
from ingest.embedding import Embedder
from ingest.injection import looks_like_instruction
from ingest.sparse import SparseEncoder
from rag.answering.extractive import SentenceSimilarity
from rag.answering.similarity import sentence_similarity
from rag.answering.table_rows import is_header
from rag.sentences import sentence_spans, shown_text

__all__ = ["PARSED_CHUNKS", "SentenceRanker", "sentence_contexts"]

PARSED_CHUNKS = 4096
"""How many chunks' sentences (split, with their question terms) a ranker keeps: splitting and
tokenizing 15 chunks per question cost more than their cached vectors under concurrent load."""


def sentence_contexts(text: str, heading_path: Sequence[str], min_words: int = 4) -> list[str]:
    """Each sentence of ``text`` (of at least ``min_words`` words, not addressed to a model) as its
    meaning is compared with a question: ``"<heading path>: <previous sentence> <sentence>"``, line
    breaks and runs of spaces made single spaces, a table's header row left out (the extractive
    answerer's ``context``)."""
    heading = " > ".join(heading_path)
    spans = sentence_spans(text)
    out: list[str] = []
    for position, sent in enumerate(spans):
        if len(sent.text.split()) < min_words or looks_like_instruction(sent.text):
            continue
        if sent.kind == "row" and is_header(text, sent.end):
            continue
        before = spans[position - 1] if position else None
        usable = before is not None and not looks_like_instruction(before.text)
        window = text[before.start : sent.end] if usable and before is not None else sent.text
        shown = shown_text(window)
        out.append(f"{heading}: {shown}" if heading else shown)
    return out


class SentenceRanker:
    """Reorders the first ``candidates`` hits (a :meth:`rerank` argument) by their best sentence's
    cosine to the question plus ``prior / (1 + fused rank)``.

    Guarantees: the result is a permutation of the input; hits after the first ``candidates`` keep
    their places; a hit's ``similarity`` (the refusal signal) and ``score`` are left as they were;
    ties keep the fused order. One model call per question (sentences already cached cost none).
    """

    def __init__(
        self,
        prior: float = 1.0,
        per_chunk: int = 3,
        similarity_for: Callable[[Embedder], SentenceSimilarity] | None = None,
    ) -> None:
        self.prior = prior
        self.per_chunk = per_chunk
        self._terms = SparseEncoder()
        self._parsed = lru_cache(maxsize=PARSED_CHUNKS)(self._parse)
        self._make = similarity_for or sentence_similarity
        self._similarities: dict[str, SentenceSimilarity] = {}
        self._lock = threading.Lock()

    def share(self, embedder: Embedder, similarity: SentenceSimilarity) -> None:
        """Use ``similarity`` (and so its cache) for ``embedder``'s model: the answerer's, so a sentence
        embedded to rank chunks is not embedded again to choose the answer."""
        with self._lock:
            self._similarities[embedder.model_id] = similarity

    def _similarity(self, embedder: Embedder) -> SentenceSimilarity:
        with self._lock:
            found = self._similarities.get(embedder.model_id)
            if found is None:
                found = self._similarities[embedder.model_id] = self._make(embedder)
            return found

    def _parse(self, text: str, heading_path: tuple[str, ...]) -> tuple[tuple[str, frozenset[int]], ...]:
        """A chunk's sentence contexts with the terms each holds (cached: chunks repeat across questions)."""
        return tuple((c, frozenset(self._terms.encode_query(c).indices)) for c in sentence_contexts(text, heading_path))

    def _most_asked(self, hit: SearchHit, asked: frozenset[int]) -> list[str]:
        """The ``per_chunk`` contexts of ``hit`` holding the most question terms (ties: the earlier first)."""
        parsed = self._parsed(hit.chunk.text, tuple(hit.chunk.heading_path))
        if len(parsed) <= self.per_chunk:
            return [c for c, _ in parsed]
        held = [len(asked & terms) for _, terms in parsed]
        keep = sorted(range(len(parsed)), key=lambda i: (-held[i], i))[: self.per_chunk]
        return [parsed[i][0] for i in sorted(keep)]

    def rerank(self, focus: str, hits: list[SearchHit], embedder: Embedder, candidates: int) -> list[SearchHit]:
        """``hits`` with the first ``candidates`` reordered by ``embedder``'s sentence vectors (see the
        class docstring)."""
        head, tail = hits[:candidates], hits[candidates:]
        asked = frozenset(self._terms.encode_query(focus).indices)
        contexts = [self._most_asked(h, asked) for h in head]
        flat = [c for group in contexts for c in group]
        if len(head) < 2 or not flat:
            return hits
        cosines = iter(self._similarity(embedder)(focus, flat))
        scored: list[tuple[float, int, SearchHit]] = []
        for rank, (hit, group) in enumerate(zip(head, contexts, strict=True)):
            best = max((next(cosines) for _ in group), default=0.0)
            scored.append((best + self.prior / (1 + rank), rank, hit))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [hit for _, _, hit in scored] + tail
