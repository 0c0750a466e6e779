"""The built-in extractive answerer: leads with the best-supported source sentence and cites it.

It never writes a word that is not in a source: the answer is source sentences, verbatim (line
breaks of hard-wrapped text shown as spaces), each followed by its ``[n]`` marker. The first
sentence is the one that best answers the question; further sentences come only from the same
document and only when they add question terms the answer does not have yet, so an answer never
mixes two documents (or two organisations' handbooks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.injection import looks_like_instruction
from ingest.sparse import SparseEncoder
from rag.answering.base import Draft, DraftCitation, Evidence, ModelInfo
from rag.answering.question_shape import expected_answer
from rag.sentences import sentence_spans

__all__ = ["ExtractiveAnswerer", "SentenceSimilarity"]

SentenceSimilarity = Callable[[str, list[str]], list[float]]
"""(question, sentences) -> the cosine similarity of each sentence to the question."""

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Candidate:
    n: int
    doc_id: str
    position: int
    sentence: str
    terms: frozenset[int]
    score: float


def shown(sentence: str) -> str:
    """A sentence as the answer shows it: its soft line breaks and runs of spaces made single spaces."""
    return _SPACE.sub(" ", sentence).strip()


class ExtractiveAnswerer:
    """Scores each sentence of the retrieved chunks and answers with the best one, plus what adds to it.

    A sentence's score: the question terms it holds (stemmed, stop words removed; weighted by the
    share of the question they cover), its chunk's similarity and rank, a bonus when it holds the
    kind of value the question asks for (a number for "how many", an address for "who do I
    contact"), and, with a ``similarity`` function, its own cosine to the question (computed for the
    ``semantic_candidates`` best sentences only). Table rows weigh less: they read poorly alone.
    """

    def __init__(
        self,
        max_sentences: int = 3,
        min_words: int = 4,
        relative_cutoff: float = 0.6,
        table_row_weight: float = 0.6,
        similarity: SentenceSimilarity | None = None,
        similarity_weight: float = 1.0,
        semantic_candidates: int = 12,
        shape_bonus: float = 0.35,
        stream_words: int = 6,
    ) -> None:
        self.max_sentences = max_sentences
        self.table_row_weight = table_row_weight
        self.min_words = min_words
        self.relative_cutoff = relative_cutoff
        self.similarity = similarity
        self.similarity_weight = similarity_weight
        self.semantic_candidates = semantic_candidates
        self.shape_bonus = shape_bonus
        self.stream_words = max(1, stream_words)
        self._terms = SparseEncoder()

    @property
    def model(self) -> ModelInfo:
        """Recorded with every answer it writes."""
        return ModelInfo(provider="extractive", name="extractive-v2")

    def _candidates(self, evidence: Evidence) -> list[_Candidate]:
        query = frozenset(self._terms.encode_query(evidence.question).indices)
        wanted = expected_answer(evidence.question)
        out: list[_Candidate] = []
        for n, hit in enumerate(evidence.hits, start=1):
            prior = 0.5 * max(hit.similarity, 0.0) + 0.1 / n
            for position, sent in enumerate(sentence_spans(hit.chunk.text)):
                if len(sent.text.split()) < self.min_words or looks_like_instruction(sent.text):
                    continue  # too short to answer, or text addressed to a model (never quoted)
                terms = frozenset(self._terms.encode_query(sent.text).indices)
                overlap = len(query & terms)
                if overlap:
                    score = prior + overlap / math.sqrt(max(len(terms), 1)) + overlap / max(len(query), 1)
                else:
                    score = prior * 0.5
                if wanted is not None and wanted.search(sent.text):
                    score += self.shape_bonus
                if sent.kind == "row":
                    score *= self.table_row_weight
                out.append(_Candidate(n, hit.chunk.doc_id, position, sent.text, terms, score))
        if self.similarity is not None and out:
            out.sort(key=lambda c: -c.score)
            head = out[: self.semantic_candidates]
            cosines = self.similarity(evidence.question, [shown(c.sentence) for c in head])
            head = [
                _Candidate(
                    c.n, c.doc_id, c.position, c.sentence, c.terms, c.score + self.similarity_weight * max(cos, 0.0)
                )
                for c, cos in zip(head, cosines, strict=True)
            ]
            out = head + out[self.semantic_candidates :]
        return out

    def _select(self, evidence: Evidence) -> list[_Candidate]:
        candidates = self._candidates(evidence)
        if not candidates:
            return []
        query = frozenset(self._terms.encode_query(evidence.question).indices)
        ranked = sorted(candidates, key=lambda c: (-c.score, c.n, c.position))
        lead = ranked[0]
        chosen = [lead]
        covered = set(lead.terms & query)
        seen = {shown(lead.sentence)}
        for cand in ranked[1:]:
            if len(chosen) == self.max_sentences or cand.score < lead.score * self.relative_cutoff:
                break
            text = shown(cand.sentence)
            if cand.doc_id != lead.doc_id or text in seen:
                continue
            adds = (cand.terms & query) - covered
            follows = cand.n == lead.n and cand.position == lead.position + 1
            if not adds and not follows:
                continue
            covered |= cand.terms & query
            seen.add(text)
            chosen.append(cand)
        return [lead, *sorted(chosen[1:], key=lambda c: (c.n, c.position))]

    def answer(self, evidence: Evidence, prompt: str) -> Draft:
        """The lead sentence, then what adds to it, with markers; empty when no sentence is usable."""
        chosen = self._select(evidence)
        text = " ".join(f"{shown(c.sentence)} [{c.n}]" for c in chosen)
        citations = list({c.n: DraftCitation(n=c.n, quote=c.sentence) for c in chosen}.values())
        return Draft(text=text, citations=citations)

    def stream(self, evidence: Evidence, prompt: str) -> Iterator[str]:
        """The same answer in pieces of a few words, as a model would stream it (joined: the answer's text)."""
        for i, cand in enumerate(self._select(evidence)):
            words = shown(cand.sentence).split(" ")
            for start in range(0, len(words), self.stream_words):
                lead = "" if i == 0 and start == 0 else " "
                yield lead + " ".join(words[start : start + self.stream_words])
            yield f" [{cand.n}]"
