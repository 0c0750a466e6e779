"""The answer check the assistant applies to a model's answers: per-sentence support, flag or refuse.

A model writes its own sentences, so each one is checked against the retrieved chunks it cites
(:func:`rag.answering.grounding.check_grounding`). With ``on_unsupported="flag"`` the answer is
returned with ``grounded: false`` and its flagged sentences marked; with ``"refuse"`` an answer
with any flagged sentence is withheld (``refused: true``, :data:`WITHHELD` as its text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from indexes.types import SearchHit
from rag.answering.grounding import check_grounding
from rag.records import SentenceSupport

__all__ = ["WITHHELD", "AnswerChecker", "source_text"]

WITHHELD = "The answer is withheld: the model stated something the cited policies do not say."
"""The text of an answer refused because a sentence of it was not supported (``refuse`` mode)."""


def source_text(hit: SearchHit) -> str:
    """What a reader of citation ``[n]`` sees of ``hit``: title, headings and the chunk's text."""
    chunk = hit.chunk
    return "\n".join([chunk.title, *chunk.heading_path, chunk.text])


@dataclass(frozen=True, slots=True)
class AnswerChecker:
    """Checks model answers; ``on_unsupported`` says what an answer with a flagged sentence becomes."""

    on_unsupported: Literal["flag", "refuse"] = "flag"
    min_overlap: float = 0.5

    @property
    def refuses(self) -> bool:
        """True when unsupported answers are withheld rather than flagged."""
        return self.on_unsupported == "refuse"

    def support(self, answer: str, hits: list[SearchHit]) -> list[SentenceSupport]:
        """Every sentence of ``answer`` with its support; ``[n]`` names ``hits[n - 1]``."""
        sources = {n: source_text(hit) for n, hit in enumerate(hits, start=1)}
        report = check_grounding(answer, sources, min_overlap=self.min_overlap)
        return [
            SentenceSupport(
                text=s.text,
                cited=s.cited,
                supported=s.supported,
                problems=s.problems,
                figures=s.figures,
                missing_figures=s.missing_figures,
                overlap=s.overlap,
            )
            for s in report.sentences
        ]
