"""The question-answering flow: resolve the version, retrieve, gate on evidence, answer, check citations."""

from __future__ import annotations

import time
import uuid

from indexes.refs import IndexRef
from indexes.types import SearchHit
from indexes.versions import VersionRegistry
from prompts import PromptTemplate
from rag.answer_log import AnswerLog
from rag.answering.base import Answerer, Evidence
from rag.citations import check_citations
from rag.errors import InvalidInput, QuestionTooLong
from rag.records import AnswerRecord, CitationOut, IndexOut, ModelOut, PromptOut
from rag.retrieval import Retriever

__all__ = ["NOT_COVERED", "Assistant", "render_sources"]

NOT_COVERED = "The policies do not cover this."
"""The answer given when the evidence is too weak; the model is not called."""


def render_sources(hits: list[SearchHit]) -> str:
    """The numbered sources block of the prompt: ``[n] title > headings (source, page)`` + text."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        c = hit.chunk
        where = " > ".join([c.title, *[h for h in c.heading_path if h != c.title]])
        page = f", page {c.page}" if c.page else ""
        blocks.append(f"[{n}] {where} ({c.source}{page})\n{c.text.strip()}")
    return "\n\n".join(blocks)


class Assistant:
    """Answers questions; every answer is recorded with the version, prompt and model behind it.

    Guarantees: a question whose best evidence is below ``refusal_threshold`` is refused without
    calling the model; every citation in an answer names a chunk that was retrieved for it.
    """

    def __init__(
        self,
        registry: VersionRegistry,
        retriever: Retriever,
        answerer: Answerer,
        prompt: PromptTemplate,
        log: AnswerLog,
        *,
        default_index: str = "policies",
        top_k: int = 5,
        refusal_threshold: float = 0.3,
        max_question_chars: int = 2000,
    ) -> None:
        self.registry = registry
        self.retriever = retriever
        self.answerer = answerer
        self.prompt = prompt
        self.log = log
        self.default_index = default_index
        self.top_k = top_k
        self.refusal_threshold = refusal_threshold
        self.max_question_chars = max_question_chars

    def check_question(self, question: str) -> str:
        """The question stripped; ``InvalidInput`` when empty, ``QuestionTooLong`` when too long."""
        text = question.strip()
        if not text:
            raise InvalidInput("the question is empty")
        if len(text) > self.max_question_chars:
            raise QuestionTooLong(f"the question has {len(text)} characters; the limit is {self.max_question_chars}")
        return text

    def ask(
        self,
        question: str,
        index: str | None = None,
        top_k: int | None = None,
        *,
        groups: list[str] | None = None,
    ) -> AnswerRecord:
        """Answer one question from the named index (alias or ``name@version``) and record it.

        ``groups`` are the caller's access groups: only chunks in one of them are retrieved, so
        nothing else can be quoted, cited or counted (None: every chunk).
        """
        t0 = time.perf_counter()
        text = self.check_question(question)
        ref = IndexRef.parse(index or self.default_index)
        version = self.registry.resolve(ref)
        t1 = time.perf_counter()
        hits = self.retriever.search(version, text, top_k or self.top_k, groups=groups)
        t2 = time.perf_counter()
        best = max((h.similarity for h in hits), default=-1.0)
        refused = best < self.refusal_threshold
        dropped = 0
        citations: list[CitationOut] = []
        if refused:
            answer = NOT_COVERED
        else:
            rendered = self.prompt.render(sources=render_sources(hits), question=text)
            draft = self.answerer.answer(Evidence(question=text, hits=hits), rendered)
            checked = check_citations(draft, hits)
            answer, dropped = checked.text, checked.dropped
            citations = [
                CitationOut(
                    n=c.n,
                    doc_id=c.hit.chunk.doc_id,
                    title=c.hit.chunk.title,
                    heading_path=c.hit.chunk.heading_path,
                    page=c.hit.chunk.page,
                    source=c.hit.chunk.source,
                    chunk_id=c.hit.chunk.chunk_id,
                    quote=c.quote,
                    score=round(c.hit.similarity, 4),
                    start=c.hit.chunk.start,
                    end=c.hit.chunk.end,
                )
                for c in checked.citations
            ]
            if not answer.strip() or (answer.startswith(NOT_COVERED) and not citations):
                answer, refused, citations = NOT_COVERED, True, []
        t3 = time.perf_counter()
        model = self.answerer.model
        record = AnswerRecord(
            answer_id=uuid.uuid4().hex,
            question=text,
            answer=answer,
            citations=citations,
            index=IndexOut(name=version.index, alias=version.alias, version=version.version),
            prompt=PromptOut(name=self.prompt.name, version=self.prompt.version),
            model=ModelOut(provider=model.provider, name=model.name),
            refused=refused,
            citations_dropped=dropped,
            timings_ms={
                "resolve": round((t1 - t0) * 1000, 2),
                "retrieve": round((t2 - t1) * 1000, 2),
                "generate": round((t3 - t2) * 1000, 2),
                "total": round((time.perf_counter() - t0) * 1000, 2),
            },
        )
        self.log.save(record.model_dump(mode="json"))
        return record
