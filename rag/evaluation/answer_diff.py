"""Answer diffs: the same questions answered by two answerers (live and candidate), compared per question.

:func:`diff_answers` takes two :data:`AnswerFn` (anything that answers a question: an index
version through :func:`assistant_answers` today, a release of version + prompt + model later) and
says per question whether the answer text, its cited documents and sections, or its refusal
changed, and where the expected document ranks on each side. The summary counts answers that
change, lose their expected source (the live answer cited an expected document, the candidate's
cites none), are newly refused or newly answered. Every model dumps to JSON for storage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from indexes.versions import ResolvedVersion
from rag.assistant import Assistant
from rag.errors import InvalidInput
from rag.evaluation.golden import GoldenSet
from rag.evaluation.metrics import Match, documents_in_rank_order
from rag.retrieval import Retriever

__all__ = [
    "AnswerDiff",
    "AnswerDiffItem",
    "AnswerDiffSummary",
    "AnswerFn",
    "AnswerSide",
    "Answered",
    "CitedSource",
    "DiffQuestion",
    "assistant_answers",
    "diff_answers",
    "diff_questions",
    "summarize",
    "summary_text",
]

_SPACE = re.compile(r"\s+")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CitedSource(_Frozen):
    """A cited document (``doc``: its name as the golden set matches it) and the section cited."""

    doc: str
    title: str
    heading_path: list[str]


class Answered(_Frozen):
    """What one answerer did with a question: the answer, refused or not, its citations in order, and
    the documents retrieved for it, best first (names as the golden set matches them)."""

    answer: str
    refused: bool
    cited: list[CitedSource]
    ranked: list[str]


AnswerFn = Callable[[str], Answered]
"""Anything that answers a question (an index version today; a release later)."""


class DiffQuestion(_Frozen):
    """A question to answer on both sides; ``expected`` is empty for a question nothing should answer."""

    id: str
    question: str
    expected: tuple[str, ...] = ()


class AnswerSide(_Frozen):
    """One side of a question's diff. ``expected_rank``: the 1-based rank of the best expected document
    among the retrieved ones (None: not retrieved, or nothing expected)."""

    answer: str
    refused: bool
    cited: list[CitedSource]
    cites_expected: bool
    expected_rank: int | None


class AnswerDiffItem(_Frozen):
    """One question answered on the live version and on the candidate, side by side."""

    id: str
    question: str
    expected: list[str]
    live: AnswerSide
    candidate: AnswerSide
    changed: bool = Field(description="The answer text, its cited documents or sections, or its refusal differ.")
    answer_changed: bool
    citations_changed: bool
    lost_source: bool = Field(description="The live answer cited an expected document; the candidate's cites none.")
    gained_source: bool
    newly_refused: bool
    newly_answered: bool


class AnswerDiffSummary(_Frozen):
    """Counts of questions; ``text`` reads ``7 answers change, 2 lose their expected source, 1 newly refused``."""

    questions: int
    changed: int
    lost_source: int
    gained_source: int
    newly_refused: int
    newly_answered: int
    text: str


class AnswerDiff(_Frozen):
    """A whole diff: the summary and every question's item (changed or not), in question order."""

    summary: AnswerDiffSummary
    items: list[AnswerDiffItem]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_text(changed: int, lost_source: int, newly_refused: int) -> str:
    """``7 answers change, 2 lose their expected source, 1 newly refused`` (singular forms for 1)."""
    return ", ".join(
        [
            _plural(changed, "answer changes", "answers change"),
            f"{lost_source} {'loses its' if lost_source == 1 else 'lose their'} expected source",
            f"{newly_refused} newly refused",
        ]
    )


def summarize(items: Sequence[AnswerDiffItem]) -> AnswerDiffSummary:
    """The counts over ``items`` (also used to recount the items a restricted caller may see)."""
    changed = sum(i.changed for i in items)
    lost = sum(i.lost_source for i in items)
    refused = sum(i.newly_refused for i in items)
    return AnswerDiffSummary(
        questions=len(items),
        changed=changed,
        lost_source=lost,
        gained_source=sum(i.gained_source for i in items),
        newly_refused=refused,
        newly_answered=sum(i.newly_answered for i in items),
        text=summary_text(changed, lost, refused),
    )


def _side(answered: Answered, expected: tuple[str, ...]) -> AnswerSide:
    wanted = set(expected)
    rank = next((n for n, doc in enumerate(answered.ranked, start=1) if doc in wanted), None)
    return AnswerSide(
        answer=answered.answer,
        refused=answered.refused,
        cited=answered.cited,
        cites_expected=not answered.refused and any(c.doc in wanted for c in answered.cited),
        expected_rank=rank,
    )


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _sections(side: AnswerSide) -> set[tuple[str, tuple[str, ...]]]:
    return {(c.doc, tuple(c.heading_path)) for c in side.cited}


def _item(q: DiffQuestion, live: Answered, candidate: Answered) -> AnswerDiffItem:
    a, b = _side(live, q.expected), _side(candidate, q.expected)
    answer_changed = _norm(a.answer) != _norm(b.answer)
    citations_changed = _sections(a) != _sections(b)
    return AnswerDiffItem(
        id=q.id,
        question=q.question,
        expected=list(q.expected),
        live=a,
        candidate=b,
        changed=answer_changed or citations_changed or a.refused != b.refused,
        answer_changed=answer_changed,
        citations_changed=citations_changed,
        lost_source=a.cites_expected and not b.cites_expected,
        gained_source=b.cites_expected and not a.cites_expected,
        newly_refused=b.refused and not a.refused,
        newly_answered=a.refused and not b.refused,
    )


def diff_answers(questions: Sequence[DiffQuestion], live: AnswerFn, candidate: AnswerFn) -> AnswerDiff:
    """Answer every question with ``live`` and with ``candidate`` and compare them question by question.

    Deterministic answerers give the same diff every time. A question with no expected documents
    never loses or gains a source (only its answer and refusal are compared). Errors of either
    answerer propagate.
    """
    items = [_item(q, live(q.question), candidate(q.question)) for q in questions]
    return AnswerDiff(summary=summarize(items), items=items)


def assistant_answers(
    assistant: Assistant, version: ResolvedVersion, match: Match = "source", *, retriever: Retriever | None = None
) -> AnswerFn:
    """An :data:`AnswerFn` answering from ``version`` with the assistant's steps (retrieval, refusal,
    prompt, answerer, citation check; nothing logged); documents named by ``match``. ``retriever``
    replaces the assistant's (e.g. one whose questions were embedded ahead)."""

    def answer(question: str) -> Answered:
        record, hits = assistant.ask_version(question, version, retriever=retriever)
        return Answered(
            answer=record.answer,
            refused=record.refused,
            cited=[
                CitedSource(doc=c.source if match == "source" else c.doc_id, title=c.title, heading_path=c.heading_path)
                for c in record.citations
            ],
            ranked=documents_in_rank_order(hits, match),
        )

    return answer


def _unanswerable(path: Path) -> list[tuple[str | None, str]]:
    rows: list[tuple[str | None, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            raise InvalidInput(f"{path.name} line {number}: needs a 'question'")
        qid = item.get("id")
        rows.append((str(qid) if qid else None, item["question"].strip()))
    return rows


def diff_questions(golden: GoldenSet, folder: Path | None = None) -> list[DiffQuestion]:
    """The golden questions (expected: their ``doc_ids``), then the questions of an ``unanswerable.jsonl``
    in ``folder`` when there is one (nothing expected; an id already taken or missing becomes
    ``unanswerable-N``). Raises ``InvalidInput`` for a malformed file."""
    questions = [DiffQuestion(id=q.id, question=q.question, expected=q.doc_ids) for q in golden.questions]
    extra = folder / "unanswerable.jsonl" if folder is not None else None
    if extra is not None and extra.is_file():
        taken = {q.id for q in questions}
        for n, (qid, text) in enumerate(_unanswerable(extra), start=1):
            name = qid if qid and qid not in taken else f"unanswerable-{n}"
            taken.add(name)
            questions.append(DiffQuestion(id=name, question=text))
    return questions
