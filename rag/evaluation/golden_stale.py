"""Golden questions gone stale: their expected passage changed between the live version and a candidate.

A golden question names the documents that answer it (the first is the primary one) and may quote
``evidence`` from the primary document. It is stale for review when the candidate

- no longer holds one of its expected documents (``removed``);
- changed the section (heading path, :mod:`rag.section_diff`) of the primary document that holds the
  evidence, or no longer holds the evidence at all (``passage_changed``);
- changed its primary document anywhere, when the question quotes no evidence or the evidence is
  not found in the live text (``document_changed``).

Texts are the versions' stored normalized texts; evidence is found ignoring Markdown, case and
spacing (:func:`rag.evaluation.fact_match.contains_phrase`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from indexes.manifest import DocumentEntry, Manifest
from rag.evaluation.fact_match import contains_phrase
from rag.evaluation.golden import GoldenQuestion, GoldenSet
from rag.section_diff import diff_sections, sections

__all__ = ["StaleQuestion", "TextOf", "stale_questions"]

TextOf = Callable[[Manifest, DocumentEntry], str]
"""The normalized text a version (named by its manifest) holds of one of its documents."""

Reason = Literal["removed", "passage_changed", "document_changed"]


class StaleQuestion(BaseModel):
    """A golden question to review, the expected document that changed, why, and which sections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    question: str
    doc: str
    reason: Reason
    sections: list[list[str]]


def _entry(manifest: Manifest, doc: str, match: str) -> DocumentEntry | None:
    return next((d for d in manifest.documents if (d.source if match == "source" else d.doc_id) == doc), None)


class _Texts:
    """Texts by content hash, each read once."""

    def __init__(self, text_of: TextOf) -> None:
        self.text_of = text_of
        self.cache: dict[str, str] = {}

    def get(self, manifest: Manifest, entry: DocumentEntry) -> str:
        if entry.content_hash not in self.cache:
            self.cache[entry.content_hash] = self.text_of(manifest, entry)
        return self.cache[entry.content_hash]


def _check(
    q: GoldenQuestion, doc: str, primary: bool, live: Manifest, candidate: Manifest, match: str, texts: _Texts
) -> StaleQuestion | None:
    before, after = _entry(live, doc, match), _entry(candidate, doc, match)
    if before is None:
        return None  # not held live: nothing drifted (the gate reports golden documents it misses)
    if after is None:
        return StaleQuestion(id=q.id, question=q.question, doc=doc, reason="removed", sections=[])
    if before.content_hash == after.content_hash or not primary:
        return None
    old, new = texts.get(live, before), texts.get(candidate, after)
    changes = diff_sections(old, new)
    if not changes:
        return None
    if q.evidence:
        holding = {s.heading_path for s in sections(old) if contains_phrase(s.text, q.evidence)}
        if holding:
            touched = [list(c.heading_path) for c in changes if c.heading_path in holding]
            if touched or not contains_phrase(new, q.evidence):
                paths = touched or [list(p) for p in sorted(holding)]
                return StaleQuestion(id=q.id, question=q.question, doc=doc, reason="passage_changed", sections=paths)
            return None
    return StaleQuestion(
        id=q.id,
        question=q.question,
        doc=doc,
        reason="document_changed",
        sections=[list(c.heading_path) for c in changes],
    )


def stale_questions(golden: GoldenSet, live: Manifest, candidate: Manifest, text_of: TextOf) -> list[StaleQuestion]:
    """The golden questions whose expected passage changed from ``live`` to ``candidate``, in golden-set
    order, one entry per question (its first stale document). Errors of ``text_of`` propagate."""
    texts = _Texts(text_of)
    out: list[StaleQuestion] = []
    for q in golden.questions:
        for n, doc in enumerate(q.doc_ids):
            found = _check(q, doc, n == 0, live, candidate, golden.match, texts)
            if found is not None:
                out.append(found)
                break
    return out
