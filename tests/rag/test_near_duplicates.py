"""A passage published in two documents takes one place in a ranking, not two."""

from __future__ import annotations

from pathlib import Path

from indexes.refs import IndexRef
from indexes.types import ChunkRecord, SearchHit
from rag.near_duplicates import collapse_near_duplicates
from tests.conftest import ServicesFactory

SHARED = (
    "Teammates get a yearly mental health reimbursement of 250 dollars for therapy, coaching and "
    "meditation apps, paid through the expense tool with a receipt attached. Submit the claim within "
    "ninety days of the session and name the provider in the description field. The People team checks "
    "claims once a month and pays approved ones with the next payroll run."
)


def _hit(text: str, doc: str) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"{doc}-0", doc_id=doc, title=doc, heading_path=[], page=None, start=0, end=len(text),
        text=text, token_count=len(text.split()), content_hash=doc, source=f"{doc}.md",
    )  # fmt: skip
    return SearchHit(chunk=chunk, score=1.0, similarity=0.5)


def test_a_copy_of_a_better_ranked_chunk_is_dropped_and_order_is_kept() -> None:
    hits = [
        _hit(SHARED, "a"),
        _hit("Overview. " + SHARED, "b"),  # the same passage under a heading: contained in a
        _hit("The reimbursement does not cover family members, only the teammate.", "c"),
        _hit(SHARED.replace("250", "300"), "d"),  # one word differs: still the same passage
        _hit("Equipment is refreshed every three years by the IT team on request.", "e"),
    ]
    kept = collapse_near_duplicates(hits, 5)
    assert [h.chunk.doc_id for h in kept] == ["a", "c", "e"]
    assert [h.chunk.doc_id for h in collapse_near_duplicates(hits, 2)] == ["a", "c"]
    # a stricter containment keeps the one-word variant apart, never the exact copy
    assert [h.chunk.doc_id for h in collapse_near_duplicates(hits, 5, containment=1.0)] == ["a", "c", "d", "e"]


def test_retrieval_fills_a_collapsed_place_with_the_next_chunk(
    tmp_path: Path, services_factory: ServicesFactory
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("benefits", "faq"):  # the passage published twice
        (corpus / f"{name}.md").write_text(f"# Mental health\n\n{SHARED}\n")
    (corpus / "family.md").write_text("# Family members\n\nFamily members are not covered by the reimbursement.\n")
    services = services_factory()
    services.builder.build("dup", corpus, promote=True)
    version = services.registry.resolve(IndexRef("dup"))
    question = "How do I claim the yearly mental health reimbursement through the expense tool?"
    plain = services.assistant.retriever.configured(collapse_duplicates=False).search(version, question, 2)
    assert {h.chunk.source for h in plain} == {"benefits.md", "faq.md"}  # two places, one passage
    collapsed = services.assistant.retriever.search(version, question, 2)
    assert len(collapsed) == 2 and "family.md" in {h.chunk.source for h in collapsed}
