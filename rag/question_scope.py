"""Which part of a version a question is about, from the scope markers its build learnt
(``ingest.scopes``).

"How much notice does Sourcegraph's People team need?" uses a marker of the ``sourcegraph``
folder and none of any other: it is answered from that folder only, so an answer never mixes in
another organisation's policy, and a question one organisation's documents do not answer is not
answered from another's. A question with markers of several folders, or of none, is not scoped.

The question's *focus* is its text without the folder's pervasive marker words (its name, its
acronym): what it asks once the scope is known. Choosing the answering sentence and measuring
coverage read the focus, so a sentence is not preferred merely for naming the organisation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexes.manifest import Manifest
from ingest.scopes import group_of
from ingest.sparse import SparseEncoder

__all__ = ["QuestionScope", "scope_of", "scoped_doc_ids"]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class QuestionScope:
    """A question's scope: the folder it names (None: not scoped), the marker terms it used, its focus."""

    group: str | None
    markers: frozenset[int]
    focus: str


def scope_of(question: str, scopes: dict[str, dict[str, list[int]]], terms: SparseEncoder) -> QuestionScope:
    """The scope of ``question`` given a version's ``scopes`` (``Manifest.scopes``); never raises.

    Guarantees: ``group`` is set only when the question holds markers of exactly one folder;
    ``focus`` is the question without the words that encode to a pervasive marker of that folder
    (the whole question when that would leave nothing).
    """
    if not scopes:
        return QuestionScope(None, frozenset(), question)
    asked = set(terms.encode_query(question).indices)
    named = {group: asked.intersection(ids.get("markers", ())) for group, ids in scopes.items()}
    named = {group: found for group, found in named.items() if found}
    if len(named) != 1:
        return QuestionScope(None, frozenset(), question)
    ((group, found),) = named.items()
    common = found.intersection(scopes[group].get("pervasive", ()))
    kept = [w for w in _WORD.findall(question) if not set(terms.encode_query(w).indices) & common]
    focus = " ".join(kept) if kept else question
    return QuestionScope(group, frozenset(found), focus)


def scoped_doc_ids(manifest: Manifest, group: str) -> list[str]:
    """The ids of the version's documents in folder ``group``."""
    return [d.doc_id for d in manifest.documents if group_of(d.source) == group]
