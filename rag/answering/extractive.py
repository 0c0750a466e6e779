"""The built-in extractive answerer: picks the best-supported source sentences and cites them.

It never writes a word that is not in a source: the answer is source sentences, verbatim,
each followed by its ``[n]`` marker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.sparse import SparseEncoder
from rag.answering.base import Draft, DraftCitation, Evidence, ModelInfo
from rag.sentences import split_sentences

__all__ = ["ExtractiveAnswerer", "SentenceSimilarity"]

SentenceSimilarity = Callable[[str, list[str]], list[float]]
"""(question, sentences) -> the cosine similarity of each sentence to the question."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    n: int
    position: int
    sentence: str
    score: float


class ExtractiveAnswerer:
    """Scores each sentence of the retrieved chunks by the question terms it contains (stemmed,
    stop words removed) and by its chunk's similarity to the question; answers with the best
    ``max_sentences`` sentences in source order.
    """

    def __init__(
        self,
        max_sentences: int = 3,
        min_words: int = 4,
        relative_cutoff: float = 0.6,
        table_row_weight: float = 0.6,
        similarity: SentenceSimilarity | None = None,
        similarity_weight: float = 1.0,
    ) -> None:
        self.max_sentences = max_sentences
        self.table_row_weight = table_row_weight
        self.min_words = min_words
        self.relative_cutoff = relative_cutoff
        self.similarity = similarity
        self.similarity_weight = similarity_weight
        self._terms = SparseEncoder()

    @property
    def model(self) -> ModelInfo:
        """Recorded with every answer it writes."""
        return ModelInfo(provider="extractive", name="extractive-v1")

    def _candidates(self, evidence: Evidence) -> list[_Candidate]:
        query = set(self._terms.encode_query(evidence.question).indices)
        out: list[_Candidate] = []
        for n, hit in enumerate(evidence.hits, start=1):
            prior = 0.5 * max(hit.similarity, 0.0) + 0.1 / n
            for position, sentence in enumerate(split_sentences(hit.chunk.text)):
                if len(sentence.split()) < self.min_words:
                    continue
                terms = set(self._terms.encode_query(sentence).indices)
                overlap = len(query & terms)
                score = prior + overlap / math.sqrt(max(len(terms), 1)) if overlap else prior * 0.5
                if sentence.startswith("|"):
                    score *= self.table_row_weight  # a bare table row reads poorly out of its table
                out.append(_Candidate(n=n, position=position, sentence=sentence, score=score))
        if self.similarity is not None and out:
            cosines = self.similarity(evidence.question, [c.sentence for c in out])
            out = [
                _Candidate(c.n, c.position, c.sentence, c.score + self.similarity_weight * max(cos, 0.0))
                for c, cos in zip(out, cosines, strict=True)
            ]
        return out

    def _select(self, evidence: Evidence) -> list[_Candidate]:
        candidates = self._candidates(evidence)
        if not candidates:
            return []
        ranked = sorted(candidates, key=lambda c: (-c.score, c.n, c.position))
        best = ranked[0].score
        chosen: list[_Candidate] = []
        seen: set[str] = set()
        for cand in ranked:
            if len(chosen) == self.max_sentences or cand.score < best * self.relative_cutoff:
                break
            if cand.sentence in seen:
                continue
            seen.add(cand.sentence)
            chosen.append(cand)
        return sorted(chosen, key=lambda c: (c.n, c.position))

    def answer(self, evidence: Evidence, prompt: str) -> Draft:
        """Best sentences with their markers; an empty draft when the evidence has no usable sentence."""
        chosen = self._select(evidence)
        text = " ".join(f"{c.sentence} [{c.n}]" for c in chosen)
        citations = list({c.n: DraftCitation(n=c.n, quote=c.sentence) for c in chosen}.values())
        return Draft(text=text, citations=citations)

    def stream(self, evidence: Evidence, prompt: str) -> Iterator[str]:
        """The same answer, one cited sentence at a time."""
        for i, cand in enumerate(self._select(evidence)):
            yield ("" if i == 0 else " ") + f"{cand.sentence} [{cand.n}]"
