"""Question sets over a document folder: questions with a gold file and an answer phrase, or none.

The layout (``questions.jsonl`` in the set's folder; the documents live in a separate corpus
folder the gold paths are relative to) is the one employees' questions are written in::

    {"id", "question", "answerable": true, "gold_path", "answer_phrase", "key_fact",
     "also_ok_paths": [...], "corpus"?, "topic"?}
    {"id", "question", "answerable": false, "absence_check"?: "[near-topic] ..."}

An answerable question names the file that answers it (plus other files that state the same
fact), a phrase copied from that file and the key fact a correct answer states. An unanswerable
question is one the corpus does not answer; ``absence_check`` starting with ``[off-topic]``
marks one far from every document (else it counts as near-topic).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rag.evaluation.datasets import DatasetError

__all__ = ["QUESTIONS_FILE", "Question", "QuestionSet", "is_question_set", "load_question_set"]

QUESTIONS_FILE = "questions.jsonl"

Kind = Literal["answerable", "near-topic", "off-topic"]


@dataclass(frozen=True, slots=True)
class Question:
    """One question. ``gold_paths`` (gold file first) and ``answer_phrase`` are empty when unanswerable."""

    id: str
    text: str
    kind: Kind
    gold_paths: tuple[str, ...] = ()
    answer_phrase: str = ""
    key_fact: str = ""
    group: str = ""
    """The part of the corpus the question is about (``corpus`` field, else the gold path's first folder)."""

    @property
    def answerable(self) -> bool:
        """True when the corpus answers the question."""
        return self.kind == "answerable"


@dataclass(frozen=True, slots=True)
class QuestionSet:
    """A loaded question set; ``sha256`` digests the questions file."""

    name: str
    questions: list[Question]
    sha256: str

    @property
    def answerable(self) -> list[Question]:
        """The questions the corpus answers."""
        return [q for q in self.questions if q.answerable]

    @property
    def unanswerable(self) -> list[Question]:
        """The questions it does not."""
        return [q for q in self.questions if not q.answerable]


def is_question_set(folder: Path) -> bool:
    """True when ``folder`` holds a ``questions.jsonl`` whose first record has an ``answerable`` field."""
    path = folder / QUESTIONS_FILE
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    first = json.loads(raw)
                except json.JSONDecodeError:
                    return False
                return isinstance(first, dict) and "answerable" in first
    return False


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: needs a non-empty {key!r}")
    return value


def _question(item: dict[str, Any], where: str) -> Question:
    qid = _text(item, "id", where)
    text = _text(item, "question", where)
    answerable = item.get("answerable")
    if not isinstance(answerable, bool):
        raise DatasetError(f"{where}: 'answerable' must be true or false")
    if not answerable:
        check = item.get("absence_check")
        kind: Kind = "off-topic" if isinstance(check, str) and check.startswith("[off-topic]") else "near-topic"
        return Question(qid, text, kind)
    gold = _text(item, "gold_path", where)
    also = item.get("also_ok_paths") or []
    if not isinstance(also, list) or not all(isinstance(p, str) for p in also):
        raise DatasetError(f"{where}: 'also_ok_paths' must be a list of paths")
    corpus = item.get("corpus")
    return Question(
        qid,
        text,
        "answerable",
        gold_paths=(gold, *also),
        answer_phrase=_text(item, "answer_phrase", where),
        key_fact=str(item.get("key_fact") or ""),
        group=corpus if isinstance(corpus, str) and corpus else gold.split("/", 1)[0],
    )


def load_question_set(folder: Path, *, limit: int | None = None) -> QuestionSet:
    """Read ``folder/questions.jsonl``; ``limit`` keeps the first N questions.

    Raises ``DatasetError`` naming the file and line for a malformed record, a duplicate id, or
    an empty set.
    """
    path = folder / QUESTIONS_FILE
    if not path.is_file():
        raise DatasetError(f"{QUESTIONS_FILE} is missing from {folder.name}/")
    digest = hashlib.sha256()
    questions: list[Question] = []
    seen: set[str] = set()
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            digest.update(raw)
            if not raw.strip():
                continue
            where = f"{QUESTIONS_FILE} line {number}"
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise DatasetError(f"{where}: expected a JSON object")
            question = _question(item, where)
            if question.id in seen:
                raise DatasetError(f"{where}: duplicate id {question.id!r}")
            seen.add(question.id)
            questions.append(question)
    if limit is not None:
        questions = questions[:limit]
    if not questions:
        raise DatasetError(f"{folder.name}/ has no question")
    return QuestionSet(folder.name, questions, digest.hexdigest())
