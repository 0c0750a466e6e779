"""The extractive answerer, the citation checker and the strict prompt templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexes.types import ChunkRecord, SearchHit
from ingest.embedding import Embedder
from prompts import PromptError, load_prompt
from rag.answering.base import Draft, DraftCitation, Evidence
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.similarity import sentence_similarity
from rag.assistant import render_sources
from rag.citations import check_citations
from tests.conftest import make_settings


def _hit(text: str, n: int, similarity: float = 0.6) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"c{n}",
        doc_id=f"d{n}",
        title=f"Doc {n}",
        heading_path=["Doc", f"Section {n}"],
        page=n if n % 2 else None,
        start=0,
        end=len(text),
        text=text,
        token_count=10,
        content_hash="h",
        source=f"doc{n}.md",
    )
    return SearchHit(chunk=chunk, score=1 / n, similarity=similarity)


HITS = [
    _hit(
        "Employees get 27 days of annual leave per calendar year. Leave must be approved by your manager.\n"
        "- Unused days expire on 31 March of the following year.",
        1,
    ),
    _hit("The office opens at 8:00. Parking is free for staff with a permit.", 2, 0.4),
]


def test_extractive_answers_only_with_source_sentences() -> None:
    answerer = ExtractiveAnswerer()
    draft = answerer.answer(Evidence("How many days of annual leave do I get?", HITS), "")
    assert draft.text.startswith("Employees get 27 days of annual leave per calendar year. [1]")
    stripped = draft.text
    for c in draft.citations:
        assert c.quote is not None and c.quote in HITS[c.n - 1].chunk.text
        stripped = stripped.replace(f"{c.quote} [{c.n}]", "")
    assert stripped.strip() == ""  # nothing but quoted sentences and their markers
    assert "".join(answerer.stream(Evidence("How many days of annual leave do I get?", HITS), "")) == draft.text


def test_extractive_prefers_the_sentence_that_answers() -> None:
    draft = ExtractiveAnswerer(max_sentences=1).answer(Evidence("When do unused leave days expire?", HITS), "")
    assert draft.text == "Unused days expire on 31 March of the following year. [1]"


def test_sentence_meaning_picks_a_paraphrased_answer(embedder: Embedder) -> None:
    # no sentence shares a term with the question: by terms alone the answerer cannot tell which answers
    question = "How much vacation time do I get per year?"
    hits = [
        _hit(
            "Expense reports must be filed by the fifth of the month. Each employee receives "
            "27 working days of paid annual leave. Staff may work from home on Fridays.",
            1,
        )
    ]
    # the question-shape bonus alone would pick the sentence with the number: switch it off to test meaning
    plain = ExtractiveAnswerer(max_sentences=1, shape_bonus=0.0).answer(Evidence(question, hits), "")
    semantic = ExtractiveAnswerer(
        max_sentences=1, similarity=sentence_similarity(embedder), similarity_weight=2.0, shape_bonus=0.0
    )
    draft = semantic.answer(Evidence(question, hits), "")
    # by meaning, the answering sentence is chosen (quoted with a neighbour: which one is a near tie of
    # int8 cosines, 0.430 against 0.421 on an AVX2 machine, that the CPU's integer kernels can tip)
    assert "Each employee receives 27 working days of paid annual leave." in draft.text
    assert "Expense reports" not in draft.text or "Staff may" not in draft.text  # one pair, not the chunk
    assert "27 working days" not in plain.text  # the term overlap alone picks another sentence
    assert "".join(semantic.stream(Evidence(question, hits), "")) == draft.text


def test_citations_naming_no_retrieved_chunk_are_dropped_and_counted() -> None:
    draft = Draft(text="You get 27 days [1]. Parking is free [2, 5]. See [9].", citations=[DraftCitation(7)])
    checked = check_citations(draft, HITS)
    assert checked.dropped == 3  # 5, 9 and 7
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.text == "You get 27 days [1]. Parking is free [2]. See."
    for c in checked.citations:
        assert c.quote in c.hit.chunk.text
    assert checked.citations[1].quote == "Parking is free for staff with a permit."


def test_a_quote_not_in_the_chunk_is_replaced_by_one_that_is() -> None:
    draft = Draft(text="27 days [1].", citations=[DraftCitation(1, quote="Employees get 30 days")])
    [c] = check_citations(draft, HITS).citations
    assert c.quote in HITS[0].chunk.text and c.quote != "Employees get 30 days"


def test_prompt_templates_are_strict() -> None:
    prompt = load_prompt("answer/v1")
    assert (prompt.name, prompt.version) == ("answer", "v1")
    assert prompt.variables == {"sources", "question"}
    text = prompt.render(sources=render_sources(HITS), question="How much leave?")
    assert "[1] Doc 1 > Doc > Section 1 (doc1.md, page 1)" in text and "How much leave?" in text
    with pytest.raises(PromptError, match="missing"):
        prompt.render(question="q")
    with pytest.raises(PromptError, match="unknown"):
        prompt.render(question="q", sources="s", extra="x")
    with pytest.raises(PromptError):
        load_prompt("answer/v99")
    with pytest.raises(PromptError):
        load_prompt("../etc/passwd")


def test_sentence_meaning_is_a_setting_off_by_default(embedder: Embedder, tmp_path: Path) -> None:
    from rag.wiring import build_answerer

    plain = build_answerer(make_settings(tmp_path), embedder)
    semantic = build_answerer(make_settings(tmp_path, extractive_semantic=True), embedder)
    assert isinstance(plain, ExtractiveAnswerer) and plain.similarity is None
    assert isinstance(semantic, ExtractiveAnswerer) and semantic.similarity is not None
