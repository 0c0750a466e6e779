"""Scope markers learnt from a corpus, and a question's scope and focus read from them."""

from __future__ import annotations

from ingest.scopes import group_of, scope_markers
from ingest.sparse import SparseEncoder
from rag.question_scope import scope_of

TERMS = SparseEncoder()


def _term(word: str) -> int:
    (index,) = TERMS.encode_query(word).indices
    return index


def _corpus() -> list[tuple[str, str]]:
    docs = []
    for i in range(6):
        docs.append((f"acme/page{i}.md", f"Acme policy {i}. Travel is booked in Roadrunner. Holidays apply."))
        docs.append((f"globex/page{i}.md", f"Globex policy {i}. Travel is booked in Cypress. Holidays apply."))
    docs.append(("acme/extra.md", "Acme keeps receipts for seven years."))
    docs.append(("top-level.md", "Acme and Globex share this page."))
    return docs


def _stored_scopes() -> dict[str, dict[str, list[int]]]:
    """The corpus's scope markers as a manifest stores them (``Manifest.scopes``), which ``scope_of`` reads."""
    return {
        group: {"markers": terms["markers"], "pervasive": terms["pervasive"]}
        for group, terms in scope_markers(_corpus(), TERMS).items()
    }


def test_group_is_the_top_level_folder() -> None:
    assert group_of("18f/pages/tools/tock.md") == "18f"
    assert group_of("/people/leave.md") == "people"
    assert group_of("README.md") is None


def test_markers_are_terms_concentrated_in_one_folder() -> None:
    scopes = scope_markers(_corpus(), TERMS)
    assert set(scopes) == {"acme", "globex"}
    acme, globex = scopes["acme"], scopes["globex"]
    assert _term("Acme") in acme["markers"] and _term("Roadrunner") in acme["markers"]
    assert _term("Globex") in globex["markers"] and _term("Cypress") in globex["markers"]
    # words both folders use name neither
    for shared in ("travel", "holidays", "policy"):
        assert _term(shared) not in acme["markers"] + globex["markers"]
    # pervasive markers are a subset of the markers
    assert set(acme["pervasive"]) <= set(acme["markers"])


def test_a_term_in_too_few_documents_is_no_marker() -> None:
    scopes = scope_markers(_corpus(), TERMS)
    assert _term("receipts") not in scopes["acme"]["markers"]  # one document only


def test_pervasive_share_separates_names_from_narrow_markers() -> None:
    docs = [(f"acme/p{i}.md", "Acme page" + (" Roadrunner" if i < 5 else "")) for i in range(20)]
    docs += [(f"globex/p{i}.md", "Globex page") for i in range(20)]
    acme = scope_markers(docs, TERMS, pervasive_share=0.3)["acme"]
    assert _term("Roadrunner") in acme["markers"]  # 5 of 20 documents: names the folder ...
    assert _term("Roadrunner") not in acme["pervasive"]  # ... but is not on most of its pages
    assert _term("Acme") in acme["pervasive"]


def test_one_folder_has_no_markers() -> None:
    assert scope_markers([(f"people/p{i}.md", "Acme leave policy") for i in range(10)], TERMS) == {}


def test_question_naming_one_folder_is_scoped_and_loses_the_name_in_its_focus() -> None:
    scopes = _stored_scopes()
    scope = scope_of("How many holidays do I get at Globex?", scopes, TERMS)
    assert scope.group == "globex"
    assert scope.focus == "How many holidays do I get at"
    assert _term("Globex") in scope.markers


def test_question_naming_both_or_neither_is_not_scoped() -> None:
    scopes = _stored_scopes()
    both = scope_of("Do Acme and Globex book travel the same way?", scopes, TERMS)
    neither = scope_of("How many holidays do I get?", scopes, TERMS)
    for scope, question in (
        (both, "Do Acme and Globex book travel the same way?"),
        (neither, "How many holidays do I get?"),
    ):
        assert scope.group is None
        assert scope.focus == question
    assert scope_of("Globex", scopes, TERMS).focus == "Globex"  # never an empty focus
