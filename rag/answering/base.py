"""The answerer interface: evidence in, a draft answer with [n] citation markers out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from indexes.types import SearchHit

__all__ = ["Answerer", "Draft", "DraftCitation", "Evidence", "ModelInfo"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model produced an answer: ``provider`` is ``extractive`` or ``openai``."""

    provider: str
    name: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an answerer may use: the question and the retrieved chunks, numbered from 1.

    ``hits[n - 1]`` is the chunk a marker ``[n]`` refers to. ``focus`` is what the question asks once
    its scope is known (``rag.question_scope``): the question without the words that only name the
    part of the corpus it is about; empty means the whole question.
    """

    question: str
    hits: list[SearchHit]
    focus: str = ""


@dataclass(frozen=True, slots=True)
class DraftCitation:
    """A citation an answerer asks for: chunk number ``n`` and, optionally, the exact quote it used."""

    n: int
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """An answerer's raw output: text with ``[n]`` markers and the citations it claims.

    Citations are checked against the evidence afterwards (see ``rag.citations``); an answerer
    need not validate its own markers.
    """

    text: str
    citations: list[DraftCitation] = field(default_factory=list)


class Answerer(Protocol):
    """Turns evidence into a draft answer. Implementations must not invent citations of their own
    beyond the numbered evidence; unknown markers are dropped and counted by the caller."""

    @property
    def model(self) -> ModelInfo:
        """The provider and model name recorded with every answer."""
        ...

    def answer(self, evidence: Evidence, prompt: str) -> Draft:
        """Answer in one piece. ``prompt`` is the rendered, versioned prompt for this evidence.

        Raises ``rag.errors.ModelUnavailable`` when the model cannot be reached.
        """
        ...

    def stream(self, evidence: Evidence, prompt: str) -> Iterator[str]:
        """Yield the answer text in pieces; joined they equal ``answer(...).text``.

        Raises ``rag.errors.ModelUnavailable`` when the model cannot be reached.
        """
        ...
