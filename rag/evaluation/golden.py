"""Golden question sets: JSON Lines files of questions and the documents that answer them.

One JSON object per line: ``{"id", "question", "doc_ids", "answer"?, "evidence"?}``.
``doc_ids`` name the relevant documents either by their ``source`` (path relative to the build's
source folder, forward slashes; the default) or by their ``doc_id``; a :class:`GoldenSet` says
which (``match``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.errors import InvalidInput
from rag.evaluation.metrics import Match

__all__ = ["GoldenQuestion", "GoldenSet", "GoldenSetError", "load_golden", "load_golden_set"]


class GoldenSetError(InvalidInput):
    """A golden set file is missing, unreadable or malformed; the message names the file and line."""

    code = "golden_set_invalid"


class GoldenQuestion(BaseModel):
    """One answerable question and the documents that answer it (the first is the primary source)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    doc_ids: tuple[str, ...] = Field(min_length=1)
    answer: str | None = Field(None, description="A short gold answer, for people and answer judges.")
    evidence: str | None = Field(None, description="Words copied verbatim from the primary document.")

    @property
    def relevant(self) -> frozenset[str]:
        """The relevant documents as a set (every one of grade 1)."""
        return frozenset(self.doc_ids)


@dataclass(frozen=True, slots=True)
class GoldenSet:
    """A loaded golden set: its questions, the file's name and digest, and how ``doc_ids`` match chunks.

    ``name`` is the file's name only (never a machine's absolute path), ``sha256`` the digest of its
    bytes, so two evaluations can tell whether they used the same questions.
    """

    name: str
    sha256: str
    questions: tuple[GoldenQuestion, ...]
    match: Match = "source"

    def __len__(self) -> int:
        return len(self.questions)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GoldenSetError(f"golden set {path} does not exist") from None
    except OSError as exc:
        raise GoldenSetError(f"golden set {path} cannot be read: {exc.strerror or exc}") from None


def _parse(path: Path, data: bytes) -> list[GoldenQuestion]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GoldenSetError(f"golden set {path} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    questions: list[GoldenQuestion] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenSetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(raw, dict):
            raise GoldenSetError(f"{where}: expected a JSON object, got {type(raw).__name__}")
        try:
            item = GoldenQuestion.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'line'}: {err['msg']}" for err in exc.errors()
            )
            raise GoldenSetError(f"{where}: {problems}") from None
        if item.id in first_line:
            raise GoldenSetError(f"{where}: duplicate id {item.id!r} (first on line {first_line[item.id]})")
        if len(set(item.doc_ids)) != len(item.doc_ids):
            raise GoldenSetError(f"{where}: doc_ids of {item.id!r} name a document twice")
        first_line[item.id] = number
        questions.append(item)
    if not questions:
        raise GoldenSetError(f"golden set {path} holds no questions")
    return questions


def load_golden(path: Path) -> list[GoldenQuestion]:
    """The questions of a golden set file, in file order.

    Blank lines are skipped. Raises :class:`GoldenSetError`, naming the file and the line, for a
    missing or non-UTF-8 file, a line that is not a JSON object, a missing or unknown field, an
    empty ``doc_ids``, a document named twice in one question, a repeated ``id``, or a file
    without questions.
    """
    return _parse(path, _read(path))


def load_golden_set(path: Path, *, match: Match = "source") -> GoldenSet:
    """Load a golden set file (see :func:`load_golden`) with its name, digest and ``match`` mode."""
    if match not in ("source", "doc_id"):
        raise ValueError(f"match must be 'source' or 'doc_id', not {match!r}")
    data = _read(path)
    return GoldenSet(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        questions=tuple(_parse(path, data)),
        match=match,
    )
