"""The question-answering flow: resolve the version, retrieve, gate on evidence, answer, check citations."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from indexes.live_history import LiveSpan
from indexes.refs import IndexRef
from indexes.types import SearchHit
from indexes.versions import ResolvedVersion, VersionRegistry
from ingest.sparse import SparseEncoder
from prompts import PromptTemplate
from rag.answer_check import WITHHELD, AnswerChecker
from rag.answer_log import AnswerLog
from rag.answer_stream import Citations, Delta, Final, MarkerFilter, StreamEvent, draft_from_text
from rag.answering.base import Answerer, Draft, Evidence
from rag.answering.pool import AnswererPool, Profile
from rag.citations import check_citations
from rag.conversation import CombiningCondenser, Condenser, Turn
from rag.errors import EMPTY_QUESTION, QuestionEmpty, QuestionTooLong
from rag.records import AnswerRecord, CitationOut, IndexOut, ModelOut, PromptOut, SentenceSupport
from rag.refusal import RefusalModel, refusal_signals
from rag.retrieval import Retriever
from rag.term_match import weakest_term_similarity
from rag.text_input import strip_controls

__all__ = ["NOT_COVERED", "AnswerObserver", "Assistant", "quote_span", "render_sources"]

NOT_COVERED = "The policies do not cover this."
"""The answer given when the evidence is too weak; the model is not called."""


class AnswerObserver(Protocol):
    """Told about every recorded answer and every model failure (the canary analysis); must return at once."""

    def answered(self, record: AnswerRecord) -> None:
        """An answer was recorded."""

    def failed(self, index: str, alias: str | None, version: int, release: int | None = None) -> None:
        """The model failed to answer a question resolved through ``alias`` to ``index`` ``version``
        (answering as release ``release``; None: without one)."""


def render_sources(hits: list[SearchHit]) -> str:
    """The numbered sources block of the prompt: ``[n] title > headings (source, page)`` + text."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        c = hit.chunk
        where = " > ".join([c.title, *[h for h in c.heading_path if h != c.title]])
        page = f", page {c.page}" if c.page else ""
        blocks.append(f"[{n}] {where} ({c.source}{page})\n{c.text.strip()}")
    return "\n\n".join(blocks)


def quote_span(hit: SearchHit, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` lies in the normalized document of ``hit``'s chunk: ``(start, end)`` with
    ``document[start:end] == quote`` (a chunk's text is ``document[chunk.start:chunk.end]``); None
    when the quote is not in the chunk's text."""
    at = hit.chunk.text.find(quote) if quote else -1
    if at < 0:
        return None
    return hit.chunk.start + at, hit.chunk.start + at + len(quote)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A question made ready to answer: checked text, what was searched, the version, its hits, the
    refusal decision."""

    text: str
    query: str
    version: ResolvedVersion
    hits: list[SearchHit]
    refused: bool
    asked_by: str | None
    focus: str
    as_of: datetime | None
    span: LiveSpan | None
    profile: Profile
    t0: float
    t1: float
    t2: float


class Assistant:
    """Answers questions; every answer is recorded with the release, version, prompt and model behind it.

    A question resolved to a pinned release is answered with that release's profile (prompt, model,
    retrieval settings) from ``profiles``; a release that follows the settings, and a pinned index
    version, with the answerer, prompt and settings given here.

    Guarantees: a question the version's refusal decision rejects (its calibrated model, or the
    best evidence below ``refusal_threshold`` for a version without one) is refused without
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
        checker: AnswerChecker | None = None,
        condenser: Condenser | None = None,
        observer: AnswerObserver | None = None,
        profiles: AnswererPool | None = None,
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
        self.checker = checker
        """Checks a model's answers sentence by sentence (None: answers are not checked)."""
        self.condenser: Condenser = condenser or CombiningCondenser()
        """Makes a follow-up question standalone from the earlier turns."""
        self.observer = observer
        """Told about recorded answers and model failures (None: nobody)."""
        self.profiles = profiles
        """The profiles of pinned releases (None: every release answers with the settings)."""
        self._terms = SparseEncoder()
        self._models: dict[tuple[str, int], RefusalModel] = {}

    def check_question(self, question: str) -> str:
        """The question without control characters and stripped; ``QuestionEmpty`` when nothing is
        left, ``QuestionTooLong`` when too long."""
        text = strip_controls(question).strip()
        if not text:
            raise QuestionEmpty(EMPTY_QUESTION)
        if len(text) > self.max_question_chars:
            raise QuestionTooLong(f"the question has {len(text)} characters; the limit is {self.max_question_chars}")
        return text

    def _prepare(
        self,
        question: str,
        index: str | None,
        top_k: int | None,
        groups: list[str] | None = None,
        asked_by: str | None = None,
        history: Sequence[Turn] = (),
        as_of: datetime | None = None,
    ) -> _Prepared:
        """Check the question, make it standalone from ``history``, resolve the version (the one live
        at ``as_of`` when given), retrieve, and decide on refusal (raises eagerly)."""
        t0 = time.perf_counter()
        text = self.check_question(question)
        ref = IndexRef.parse(index or self.default_index)
        span: LiveSpan | None = None
        if as_of is None:
            version = self.registry.resolve(ref)
        else:
            version, span = self.registry.resolve_as_of(ref, as_of)
        profile = self.profile(version)
        t1 = time.perf_counter()
        query = self.condenser.standalone(text, history) if history else text  # timed with retrieval
        hits = profile.retriever.search(version, query, top_k or profile.top_k, groups=groups)
        focus = profile.retriever.focus(version, query)
        refused = self.refuses(version, query, hits, focus, profile)
        t2 = time.perf_counter()
        return _Prepared(text, query, version, hits, refused, asked_by, focus, as_of, span, profile, t0, t1, t2)

    def profile(self, version: ResolvedVersion) -> Profile:
        """How ``version`` is answered: its pinned release's profile, else the settings' (this assistant's own)."""
        release = version.release
        if release is not None and release.spec is not None and self.profiles is not None:
            return self.profiles.get(release.spec)
        return Profile(self.answerer, self.prompt, self.retriever, self.checker, self.top_k, self.refusal_threshold)

    def refuses(
        self,
        version: ResolvedVersion,
        question: str,
        hits: list[SearchHit],
        focus: str | None = None,
        profile: Profile | None = None,
    ) -> bool:
        """The refusal decision: the version's calibrated model when its manifest has one (and the
        release uses it), else the best chunk's similarity against the refusal threshold. No hits:
        always refused."""
        if not hits:
            return True
        model = self._refusal_model(version) if profile is None or profile.calibrated_refusal else None
        if model is not None:
            retriever = self.retriever if profile is None else profile.retriever
            weakest = (
                weakest_term_similarity(focus or question, hits, retriever.embedder_for(version))
                if "weakest_term_similarity" in model.features
                else None
            )
            return model.refuses(refusal_signals(question, hits, self._terms, focus, weakest_term=weakest))
        threshold = self.refusal_threshold if profile is None else profile.refusal_threshold
        return max(h.similarity for h in hits) < threshold

    def refusal_signals(self, version: ResolvedVersion, question: str) -> dict[str, float]:
        """The signals a refusal model reads for ``question`` on ``version``, retrieved as an ask
        retrieves (the default ``top_k``, no access groups, no history)."""
        hits = self.retriever.search(version, question, self.top_k)
        focus = self.retriever.focus(version, question)
        weakest = weakest_term_similarity(focus, hits, self.retriever.embedder_for(version))
        return refusal_signals(question, hits, self._terms, focus, weakest_term=weakest)

    def _refusal_model(self, version: ResolvedVersion) -> RefusalModel | None:
        data = version.manifest.refusal
        if not data:
            return None
        key = (version.index, version.version)
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = RefusalModel.model_validate(data)
        return model

    def refusal_policy(self, version: ResolvedVersion, profile: Profile | None = None) -> dict[str, Any]:
        """How ``version`` decides to refuse, as plain values (for reports)."""
        model = self._refusal_model(version) if profile is None or profile.calibrated_refusal else None
        if model is None:
            threshold = self.refusal_threshold if profile is None else profile.refusal_threshold
            return {"method": "best-similarity", "source": "settings", "threshold": threshold}
        return {
            "method": f"{model.method} over {', '.join(model.features)}",
            "source": f"calibrated on {model.fitted_on.get('name')}",
            "threshold": model.threshold,
            "cross_validated": model.cross_validated,
            "in_sample": model.in_sample,
        }

    def _prompt(self, prep: _Prepared) -> str:
        return prep.profile.prompt.render(sources=render_sources(prep.hits), question=prep.query)

    def _finish(self, prep: _Prepared, draft: Draft | None, *, save: bool = True) -> AnswerRecord:
        """Check the draft's citations (``None``: refused), build the record and log it (when ``save``)."""
        refused = draft is None
        dropped = 0
        support: list[SentenceSupport] = []
        citations: list[CitationOut] = []
        if draft is None:
            answer = NOT_COVERED
        else:
            checked = check_citations(draft, prep.hits)
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
                    quote_start=span[0] if (span := quote_span(c.hit, c.quote)) else None,
                    quote_end=span[1] if span else None,
                )
                for c in checked.citations
            ]
            if not answer.strip() or (answer.startswith(NOT_COVERED) and not citations):
                answer, refused, citations = NOT_COVERED, True, []
            elif prep.profile.checker is not None:
                support = prep.profile.checker.support(answer, prep.hits)
                if prep.profile.checker.refuses and not all(s.supported for s in support):
                    answer, refused, citations = WITHHELD, True, []
        t3 = time.perf_counter()
        model = prep.profile.answerer.model
        prompt = prep.profile.prompt
        version = prep.version
        record = AnswerRecord(
            answer_id=uuid.uuid4().hex,
            question=prep.text,
            answer=answer,
            citations=citations,
            index=IndexOut(
                name=version.index,
                alias=version.alias,
                version=version.version,
                as_of=prep.as_of,
                live_from=prep.span.live_from if prep.span else None,
                live_until=prep.span.live_until if prep.span else None,
            ),
            release=version.release.number if version.release is not None else None,
            prompt=PromptOut(name=prompt.name, version=prompt.version),
            model=ModelOut(provider=model.provider, name=model.name),
            refused=refused,
            citations_dropped=dropped,
            grounded=all(s.supported for s in support),
            support=support,
            standalone_question=prep.query if prep.query != prep.text else None,
            timings_ms={
                "resolve": round((prep.t1 - prep.t0) * 1000, 2),
                "retrieve": round((prep.t2 - prep.t1) * 1000, 2),
                "generate": round((t3 - prep.t2) * 1000, 2),
                "total": round((time.perf_counter() - prep.t0) * 1000, 2),
            },
        )
        if save:
            self.log.save(record.model_dump(mode="json"), asked_by=prep.asked_by, context=self.answer_context(prep))
            if self.observer is not None:
                self.observer.answered(record)
        return record

    def _model_failed(self, prep: _Prepared) -> None:
        """Tell the observer the model failed on a question (an as-of question names no alias arm)."""
        if self.observer is not None:
            v = prep.version
            alias = None if prep.as_of is not None else v.alias
            self.observer.failed(v.index, alias, v.version, v.release.number if v.release is not None else None)

    def answer_context(self, prep: _Prepared) -> dict[str, Any]:
        """What an answer's receipt needs besides its record: the retrieval settings and refusal
        policy in force when it was answered (settings may change later; the receipt must not)."""
        r = prep.profile.retriever
        return {
            "retrieval": {
                "mode": r.mode,
                "fusion": r.fusion,
                "fusion_weights": list(r.weights) if r.weights else None,
                "rrf_k": r.rrf_k,
                "prefetch_limit": r.prefetch_limit,
                "top_k": len(prep.hits) if prep.hits else prep.profile.top_k,
                "reranker": r.reranker.name if r.reranker is not None else None,
                "rerank_candidates": r.rerank_candidates if r.reranker is not None else None,
                "scope_questions": r.scope_questions,
                "focus": prep.focus or None,
                "refusal": self.refusal_policy(prep.version, prep.profile),
            },
            "searched": prep.query,
        }

    def ask(
        self,
        question: str,
        index: str | None = None,
        top_k: int | None = None,
        *,
        groups: list[str] | None = None,
        asked_by: str | None = None,
        record: bool = True,
        history: Sequence[Turn] = (),
        as_of: datetime | None = None,
    ) -> AnswerRecord:
        """Answer one question from the named index (alias or ``name@version``) and record it.

        ``groups`` are the caller's access groups: only chunks in one of them are retrieved, so
        nothing else can be quoted, cited or counted (None: every chunk). ``asked_by`` (the
        caller's key id) is recorded with the answer: feedback on it is accepted from that key.
        ``record=False`` (used by evaluation) returns the same answer without adding it to the log.
        ``history`` holds the conversation's earlier turns: a follow-up is made standalone from them
        (see :mod:`rag.conversation`), searched and answered, and recorded as ``standalone_question``.
        ``as_of`` (an aware moment) answers from the version that was live then, never the canary
        (``VersionRegistry.resolve_as_of``); the record's ``index`` then carries its live span.
        """
        prep = self._prepare(question, index, top_k, groups, asked_by, history, as_of)
        draft = None
        if not prep.refused:
            try:
                draft = prep.profile.answerer.answer(
                    Evidence(question=prep.query, hits=prep.hits, focus=prep.focus), self._prompt(prep)
                )
            except Exception:
                if record:
                    self._model_failed(prep)
                raise
        return self._finish(prep, draft, save=record)

    def ask_version(
        self, question: str, version: ResolvedVersion, *, retriever: Retriever | None = None
    ) -> tuple[AnswerRecord, list[SearchHit]]:
        """Answer from ``version`` as given (e.g. a sealed candidate that is not ready yet), with the
        same steps as :meth:`ask` and no access filter; nothing is logged. Returns the record and the
        chunks retrieved for it, best first. ``retriever`` replaces the assistant's own (e.g. one
        whose questions were embedded ahead)."""
        t0 = time.perf_counter()
        text = self.check_question(question)
        t1 = time.perf_counter()
        profile = self.profile(version)
        search = retriever or profile.retriever
        hits = search.search(version, text, profile.top_k)
        focus = search.focus(version, text)
        refused = self.refuses(version, text, hits, focus, profile)
        prep = _Prepared(
            text, text, version, hits, refused, None, focus, None, None, profile, t0, t1, time.perf_counter()
        )
        draft = None
        if not refused:
            draft = profile.answerer.answer(Evidence(question=text, hits=hits, focus=focus), self._prompt(prep))
        return self._finish(prep, draft, save=False), hits

    def stream(
        self,
        question: str,
        index: str | None = None,
        top_k: int | None = None,
        *,
        groups: list[str] | None = None,
        asked_by: str | None = None,
        history: Sequence[Turn] = (),
        as_of: datetime | None = None,
    ) -> Iterator[StreamEvent]:
        """Answer like :meth:`ask`, as events: ``Delta`` pieces, then ``Citations``, then ``Final``.

        ``groups`` restricts retrieval, ``asked_by`` is recorded and ``as_of`` resolves exactly as in
        :meth:`ask`.

        Bad input, an unknown index and retrieval failures raise here, before any event; a model
        failure raises from the iterator (after the deltas already produced), and then nothing is
        recorded. Every delta's markers name retrieved chunks; the final record is the same one
        :meth:`ask` would give for the same model output, and it is logged before it is yielded.
        A refusal streams :data:`NOT_COVERED` without calling the model. When unsupported answers
        are refused (the checker's ``refuse`` mode), a model's text is held back until it is checked
        and then sent as one delta (the answer, or :data:`~rag.answer_check.WITHHELD`).
        """
        prep = self._prepare(question, index, top_k, groups, asked_by, history, as_of)
        return self._events(prep)

    def _events(self, prep: _Prepared) -> Iterator[StreamEvent]:
        draft = None
        if prep.refused:
            yield Delta(NOT_COVERED)
        else:
            pieces: list[str] = []
            markers = MarkerFilter(set(range(1, len(prep.hits) + 1)))
            stream = prep.profile.answerer.stream(
                Evidence(question=prep.query, hits=prep.hits, focus=prep.focus), self._prompt(prep)
            )
            hold = prep.profile.checker is not None and prep.profile.checker.refuses
            try:
                for piece in stream:
                    pieces.append(piece)
                    shown = markers.feed(piece)
                    if shown and not hold:
                        yield Delta(shown)
            except Exception:
                self._model_failed(prep)
                raise
            finally:  # a client gone mid-stream closes this generator: release the model's response now
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            tail = markers.flush()
            if tail and not hold:
                yield Delta(tail)
            draft = draft_from_text("".join(pieces))
            if hold:
                record = self._finish(prep, draft)
                yield Delta(record.answer)
                yield Citations(record.citations)
                yield Final(record)
                return
        record = self._finish(prep, draft)
        yield Citations(record.citations)
        yield Final(record)
