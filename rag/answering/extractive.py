"""The built-in extractive answerer: leads with the best-supported source sentence and cites it.

It never writes a word that is not in a source: the answer is source sentences, verbatim (line
breaks of hard-wrapped text shown as spaces, the bullet of a list item quoted with the item
before it left out), each followed by its ``[n]`` marker. The first
sentence is the one that best answers the question; further sentences come only from the same
document and only when they add question terms the answer does not have yet, so an answer never
mixes two documents (or two organisations' handbooks). A quoted sentence that introduces what
follows it ("... provided that:", "contact the service desk through:") is quoted with what it
introduces, and one whose continuation is not in the chunk is not added as a follower: an answer
never ends on a colon that promises a list it does not show. A table row is shown with its columns'
names ("System: HR Links; Purpose: ..."), and a table's header row is never an answer's sentence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ingest.injection import looks_like_instruction
from ingest.sparse import SparseEncoder
from rag.answering.base import Draft, DraftCitation, Evidence, ModelInfo
from rag.answering.question_shape import expected_answer
from rag.answering.table_rows import header_of, is_header, spoken
from rag.sentences import Sentence, sentence_spans, shown_text

__all__ = ["ExtractiveAnswerer", "SentenceSimilarity"]

SentenceSimilarity = Callable[[str, list[str]], list[float]]
"""(question, sentences) -> the cosine similarity of each sentence to the question."""

_HEADING_LINE = re.compile(r"(?m)^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_ITEM_BREAK = re.compile(r"(\S?)[ \t]*\n[ \t]*(?:>[ \t]?)?[ \t]*(?:[-*+]|\d+[.)])[ \t]+")
"""A line break followed by a list item's bullet or number, inside one quote (two items quoted together)."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    n: int
    doc_id: str
    position: int
    sentence: str
    window: str
    """The sentence with the one before it in its chunk (a contiguous slice of the chunk's text)."""
    context: str
    """The window as its meaning is compared with the question: heading path, then the window."""
    terms: frozenset[int]
    score: float
    end: int = 0
    """Where the sentence ends in its chunk's text (the window and the sentence both end there)."""
    continues_to: int | None = None
    """The end offset of what the sentence introduces (:func:`introduced_end`), or None."""
    continued: tuple[int, ...] = ()
    """The positions of the sentences it introduces, in its chunk."""
    header: tuple[str, ...] | None = None
    """The header cells of the table holding the sentence (or the row before it), to read its rows by."""


def shown(sentence: str) -> str:
    """A sentence as the answer shows it: its soft line breaks and runs of spaces made single spaces,
    the ``>`` markers of a block quote's wrapped lines left out (:func:`rag.sentences.shown_text`)."""
    return shown_text(sentence)


def introduced_end(
    text: str, spans: list[Sentence], position: int, max_items: int = 4, max_chars: int = 400
) -> int | None:
    """Where what the sentence ``spans[position]`` of ``text`` introduces ends, when it ends with a colon.

    What a colon introduces is the list that follows it (up to ``max_items`` items, and no item
    that would take the continuation past ``max_chars`` characters, the first always), or else the
    one sentence that follows it; never past a heading or into a table. None when the sentence
    does not end with a colon or nothing follows it in ``text``. ``text[spans[position].start :
    end]`` is then a verbatim slice holding the introduction and what it introduces.
    """
    sent = spans[position]
    if not sent.text.rstrip().endswith(":"):
        return None
    end: int | None = None
    for nxt in spans[position + 1 : position + 1 + max_items]:
        if nxt.kind == "row" or _HEADING_LINE.search(text, end or sent.end, nxt.start):
            break
        if end is not None and (nxt.kind != "item" or nxt.end - sent.end > max_chars):
            break
        end = nxt.end
        if nxt.kind != "item":
            break  # a sentence of prose completes the introduction by itself
    return end


def _item_break(match: re.Match[str]) -> str:
    before = match.group(1)
    return f"{before} " if not before or before in ".!?:;)" else f"{before}; "


def displayed(quote: str) -> str:
    """A quote as the answer's text shows it: :func:`shown`, and where the quote runs from one list item
    into the next, the next item's bullet is left out ("... zone.) You don't need ...", not "... zone.)
    - You don't need ..."); after an item that ends without punctuation a semicolon separates them.
    The citation keeps the verbatim quote."""
    return shown(_ITEM_BREAK.sub(_item_break, quote))


def _table_header(text: str, spans: list[Sentence], position: int) -> tuple[str, ...] | None:
    """The header cells of the table holding ``spans[position]``, or the row before it; None when
    neither is a table row or the chunk does not hold the table's header."""
    for i in (position, position - 1):
        if i >= 0 and spans[i].kind == "row":
            found = header_of(text, spans[i].start)
            return tuple(found) if found is not None else None
    return None


def _read(cand: _Candidate, quote: str) -> str:
    """A chosen quote as the answer's text shows it: :func:`displayed`, its table rows read with their
    columns' names (:func:`rag.answering.table_rows.spoken`)."""
    return displayed(spoken(quote, list(cand.header) if cand.header else None))


class ExtractiveAnswerer:
    """Scores each sentence of the retrieved chunks and answers with the best one, plus what adds to it.

    Every sentence first gets a cheap score: the question terms it holds (stemmed, stop words
    removed; weighted by the share of the question they cover), its chunk's similarity and rank, a
    bonus when it holds the kind of value the question asks for (a number for "how many", an
    address for "who do I contact"); table rows weigh less, they read poorly alone. The question's
    terms are those of its focus (``Evidence.focus``): words that only name the organisation do not
    make a sentence look relevant.

    With a ``similarity`` function, the ``semantic_candidates`` best of those (48: every sentence
    of five typical chunks; with 8, the cheap score had dropped the answering sentence for one
    handbook dev question in eight) are scored again by meaning: the cosine of the question's
    focus to the sentence *with the sentence before it*, preceded by its heading path (answers
    are often a short sentence whose subject is in the previous one: "Inactive repositories are
    archived. The current default is 90 days."), plus the chunk's prior and the value-kind bonus;
    the lead is then quoted with that previous sentence (the pair is what was judged; either
    sentence may hold the fact).
    """

    def __init__(
        self,
        max_sentences: int = 3,
        min_words: int = 4,
        relative_cutoff: float = 0.6,
        table_row_weight: float = 0.6,
        similarity: SentenceSimilarity | None = None,
        similarity_weight: float = 4.0,
        semantic_candidates: int = 48,
        shape_bonus: float = 0.35,
        semantic_shape_bonus: float = 0.2,
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
        self.semantic_shape_bonus = semantic_shape_bonus
        self.stream_words = max(1, stream_words)
        self._terms = SparseEncoder()

    @property
    def model(self) -> ModelInfo:
        """Recorded with every answer it writes."""
        name = "extractive-v3-semantic" if self.similarity is not None else "extractive-v3"
        return ModelInfo(provider="extractive", name=name)

    def _candidates(self, evidence: Evidence, focus: str) -> list[_Candidate]:
        query = frozenset(self._terms.encode_query(focus).indices)
        wanted = expected_answer(evidence.question)
        out: list[_Candidate] = []
        for n, hit in enumerate(evidence.hits, start=1):
            prior = 0.5 * max(hit.similarity, 0.0) + 0.1 / n
            text = hit.chunk.text
            heading = " > ".join(hit.chunk.heading_path)
            spans = sentence_spans(text)
            for position, sent in enumerate(spans):
                if len(sent.text.split()) < self.min_words or looks_like_instruction(sent.text):
                    continue  # too short to answer, or text addressed to a model (never quoted)
                if sent.kind == "row" and is_header(text, sent.end):
                    continue  # a table's header names columns; it states no fact
                before = spans[position - 1] if position else None
                usable = before is not None and not looks_like_instruction(before.text)
                window = text[before.start : sent.end] if usable and before is not None else sent.text
                header = _table_header(text, spans, position)
                terms = frozenset(self._terms.encode_query(sent.text).indices)
                overlap = len(query & terms)
                if overlap:
                    score = prior + overlap / math.sqrt(max(len(terms), 1)) + overlap / max(len(query), 1)
                else:
                    score = prior * 0.5
                shaped = wanted is not None and wanted.search(sent.text) is not None
                if shaped:
                    score += self.shape_bonus
                if sent.kind == "row":
                    score *= self.table_row_weight
                context = f"{heading}: {shown(window)}" if heading else shown(window)
                continues_to = introduced_end(text, spans, position)
                continued: tuple[int, ...] = ()
                if continues_to is not None:
                    continued = tuple(i for i in range(position + 1, len(spans)) if spans[i].end <= continues_to)
                out.append(
                    _Candidate(
                        n,
                        hit.chunk.doc_id,
                        position,
                        sent.text,
                        window,
                        context,
                        terms,
                        score,
                        end=sent.end,
                        continues_to=continues_to,
                        continued=continued,
                        header=header,
                    )
                )
        if self.similarity is None or not out:
            return out
        out.sort(key=lambda c: (-c.score, c.n, c.position))
        head = out[: self.semantic_candidates]
        cosines = self.similarity(focus, [c.context for c in head])
        rescored = []
        for c, cos in zip(head, cosines, strict=True):
            hit = evidence.hits[c.n - 1]
            prior = 0.5 * max(hit.similarity, 0.0) + 0.1 / c.n
            bonus = self.semantic_shape_bonus if wanted is not None and wanted.search(c.sentence) else 0.0
            rescored.append(replace(c, score=prior + bonus + self.similarity_weight * cos))
        return rescored

    def _select(self, evidence: Evidence) -> list[tuple[_Candidate, str]]:
        """(candidate, quoted text) of the answer: the lead first (with its previous sentence when
        chosen by meaning), then what adds to it in document order."""
        focus = evidence.focus or evidence.question
        candidates = self._candidates(evidence, focus)
        if not candidates:
            return []
        query = frozenset(self._terms.encode_query(focus).indices)
        ranked = sorted(candidates, key=lambda c: (-c.score, c.n, c.position))
        lead = ranked[0]
        # chosen by meaning, the window is the unit: the fact may be in either of its sentences
        # ("$80 per day for all 3 meals. - Any additional spending ..."), so both are quoted
        with_before = self.similarity is not None and lead.window != lead.sentence
        lead_text = self._quoted(evidence, lead, lead.window if with_before else lead.sentence)
        covered_sentences = {(lead.n, lead.position), *((lead.n, i) for i in lead.continued)}
        if with_before:
            covered_sentences.add((lead.n, lead.position - 1))
        chosen: list[_Candidate] = []
        covered = set(lead.terms & query)
        seen = {shown(lead_text)}
        for cand in ranked[1:]:
            if len(chosen) + 1 == self.max_sentences or cand.score < lead.score * self.relative_cutoff:
                break
            text = shown(cand.sentence)
            if cand.doc_id != lead.doc_id or text in seen or (cand.n, cand.position) in covered_sentences:
                continue
            if cand.sentence.rstrip().endswith(":") and cand.continues_to is None:
                continue  # it would promise what the answer does not show
            adds = (cand.terms & query) - covered
            follows = cand.n == lead.n and cand.position == lead.position + 1
            if not adds and not follows:
                continue
            covered |= cand.terms & query
            covered_sentences.update((cand.n, i) for i in (cand.position, *cand.continued))
            seen.add(text)
            # an item chosen before its introduction is now quoted with it
            chosen = [c for c in chosen if c.n != cand.n or c.position not in cand.continued]
            chosen.append(cand)
        rest = [(c, self._quoted(evidence, c, c.sentence)) for c in sorted(chosen, key=lambda c: (c.n, c.position))]
        return [(lead, lead_text), *rest]

    @staticmethod
    def _quoted(evidence: Evidence, cand: _Candidate, quote: str) -> str:
        """``quote`` (the candidate's sentence, or the window ending with it) with what the sentence
        introduces, as one verbatim slice of its chunk."""
        if cand.continues_to is None:
            return quote
        return evidence.hits[cand.n - 1].chunk.text[cand.end - len(quote) : cand.continues_to]

    def answer(self, evidence: Evidence, prompt: str) -> Draft:
        """The lead sentence, then what adds to it, with markers; empty when no sentence is usable."""
        chosen = self._select(evidence)
        text = " ".join(f"{_read(c, quote)} [{c.n}]" for c, quote in chosen)
        citations = list({c.n: DraftCitation(n=c.n, quote=quote) for c, quote in chosen}.values())
        return Draft(text=text, citations=citations)

    def stream(self, evidence: Evidence, prompt: str) -> Iterator[str]:
        """The same answer in pieces of a few words, as a model would stream it (joined: the answer's text)."""
        for i, (cand, quote) in enumerate(self._select(evidence)):
            words = _read(cand, quote).split(" ")
            for start in range(0, len(words), self.stream_words):
                lead = "" if i == 0 and start == 0 else " "
                yield lead + " ".join(words[start : start + self.stream_words])
            yield f" [{cand.n}]"
