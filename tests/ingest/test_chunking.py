"""Chunking: offsets into the normalized text, the embedder's token budget, heading paths, stable ids."""

from __future__ import annotations

from pathlib import Path

from ingest.chunking import Chunker
from ingest.documents import LoadedDocument, PageSpan
from ingest.embedding import Embedder
from ingest.loaders import load_document


def _doc(text: str, pages: list[PageSpan] | None = None) -> LoadedDocument:
    return LoadedDocument(
        doc_id="d", title="Travel policy", source="travel.md", format="markdown", text=text, pages=pages or []
    )


LONG = (
    "# Travel policy\n\nIntro text about travel.\n\n## Booking\n\n"
    + " ".join(f"Rule {i}: book trip number {i} through the portal at least {i} days ahead." for i in range(120))
    + "\n\n### Flights\n\nEconomy class for flights under six hours.\n\n## Per diem\n\nEUR 45 per day.\n"
)


def test_chunks_fit_the_embedders_budget_and_point_into_the_text(embedder: Embedder) -> None:
    chunker = Chunker(embedder.count_tokens, embedder.max_content_tokens, overlap_tokens=32)
    doc = _doc(LONG)
    chunks = chunker.chunk(doc)
    assert len(chunks) > 5
    for c in chunks:
        r = c.record
        assert doc.text[r.start : r.end] == r.text
        # the exact input the model sees, special tokens included, fits max_seq_length
        assert embedder.count_tokens(c.embed_text) + embedder.special_tokens <= embedder.max_seq_length
        assert r.token_count == embedder.count_tokens(c.embed_text)
        assert c.embed_text.endswith(r.text)
    booking = [c for c in chunks if "Rule 7:" in c.record.text]
    assert booking and booking[0].record.heading_path == ["Travel policy", "Booking"]
    flights = next(c for c in chunks if "Economy class" in c.record.text)
    assert flights.record.heading_path == ["Travel policy", "Booking", "Flights"]
    assert flights.embed_text.startswith("Travel policy > Booking > Flights\n")
    per_diem = next(c for c in chunks if "EUR 45" in c.record.text)
    assert per_diem.record.heading_path == ["Travel policy", "Per diem"]


def test_no_text_is_lost_between_chunks(embedder: Embedder) -> None:
    chunker = Chunker(embedder.count_tokens, 64, overlap_tokens=0)
    doc = _doc(LONG)
    covered = "".join(doc.text[c.record.start : c.record.end] for c in chunker.chunk(doc))
    for word in ("Rule 0:", "Rule 119:", "Economy class", "EUR 45", "Intro text"):
        assert word in covered


def test_chunk_ids_are_deterministic_and_unique(embedder: Embedder) -> None:
    chunker = Chunker(embedder.count_tokens, 128)
    first = [c.record.chunk_id for c in chunker.chunk(_doc(LONG))]
    second = [c.record.chunk_id for c in chunker.chunk(_doc(LONG))]
    assert first == second
    assert len(set(first)) == len(first)
    changed = [c.record.chunk_id for c in chunker.chunk(_doc(LONG.replace("EUR 45", "EUR 50")))]
    assert changed[:-1] == first[:-1] and changed[-1] != first[-1]


def test_pages_come_from_page_spans(embedder: Embedder) -> None:
    page1 = "Receipts are required for every claim over EUR 10."
    page2 = "Claims are paid within ten working days of approval."
    text = page1 + "\n\n" + page2 + "\n"
    pages = [PageSpan(1, 0, len(page1)), PageSpan(2, len(page1) + 2, len(page1) + 2 + len(page2))]
    chunks = Chunker(embedder.count_tokens, 16, overlap_tokens=0).chunk(_doc(text, pages))
    assert {c.record.page for c in chunks} == {1, 2}
    for c in chunks:
        expected = 2 if c.record.start >= pages[1].start else 1
        assert c.record.page == expected


def test_headings_can_be_left_out_of_the_embedded_text(embedder: Embedder) -> None:
    chunks = Chunker(embedder.count_tokens, 254, embed_headings=False).chunk(_doc(LONG))
    assert all(c.embed_text == c.record.text for c in chunks)


def test_sample_handbook_chunks_fit(embedder: Embedder, sample_dir: Path) -> None:
    chunker = Chunker(embedder.count_tokens, embedder.max_content_tokens)
    total = 0
    for path in sorted(p for p in sample_dir.rglob("*") if p.is_file()):
        doc = load_document(path, path.relative_to(sample_dir).as_posix())
        for c in chunker.chunk(doc):
            total += 1
            assert doc.text[c.record.start : c.record.end] == c.record.text
            assert embedder.count_tokens(c.embed_text) <= embedder.max_content_tokens
            if doc.format == "pdf":
                assert c.record.page is not None
    assert total > 30
