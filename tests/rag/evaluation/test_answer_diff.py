"""Answer diffs compared question by question, the gate's thresholds, and stale golden questions.

The diff takes two things that answer a question; here they are plain functions over fixed answers
(the comparison is what is tested), and tests/api/test_answer_diff.py drives it with the assistant
on real versions of the sample handbook.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexes.manifest import ChunkerSpec, DocumentEntry, EmbedderSpec, Manifest, SparseSpec
from ingest.access_groups import GROUPS_KEY
from rag.access.answer_diffs import visible_answer_diff
from rag.errors import InvalidInput
from rag.evaluation.answer_diff import (
    Answered,
    CitedSource,
    DiffQuestion,
    diff_answers,
    diff_questions,
    summary_text,
)
from rag.evaluation.answer_gate import AnswerThresholds, check_answers
from rag.evaluation.golden import GoldenQuestion, GoldenSet, load_golden_set
from rag.evaluation.golden_stale import stale_questions

LEAVE = "people/annual-leave.md"
SICK = "people/sick-leave.md"


def _answered(
    answer: str, *docs: tuple[str, list[str]], refused: bool = False, ranked: list[str] | None = None
) -> Answered:
    return Answered(
        answer=answer,
        refused=refused,
        cited=[CitedSource(doc=d, title=d, heading_path=p) for d, p in docs],
        ranked=ranked if ranked is not None else [d for d, _ in docs],
    )


QUESTIONS = [
    DiffQuestion(id="same", question="How many vacation days?", expected=(LEAVE,)),
    DiffQuestion(id="reworded", question="Carry over?", expected=(LEAVE,)),
    DiffQuestion(id="lost", question="When do I report sick?", expected=(SICK,)),
    DiffQuestion(id="refused", question="Sick child?", expected=(SICK,)),
    DiffQuestion(id="answered", question="Can I bring my dog?"),
]

LIVE = {
    "How many vacation days?": _answered("28 days. [1]", (LEAVE, ["Leave", "1.1"])),
    "Carry over?": _answered("Up to 5 days. [1]", (LEAVE, ["Leave", "3"])),
    "When do I report sick?": _answered("By 9:00. [1]", (SICK, ["Sick", "2"])),
    "Sick child?": _answered("10 days. [1]", (SICK, ["Sick", "4"])),
    "Can I bring my dog?": _answered("The policies do not cover this.", refused=True, ranked=[]),
}
CANDIDATE = {
    "How many vacation days?": _answered("28  days. [1]", (LEAVE, ["Leave", "1.1"])),  # spacing only
    "Carry over?": _answered("Up to 3 days. [1]", (LEAVE, ["Leave", "3"])),
    "When do I report sick?": _answered("See the leave policy. [1]", (LEAVE, ["Leave", "4"]), ranked=[LEAVE, SICK]),
    "Sick child?": _answered("The policies do not cover this.", refused=True, ranked=[]),
    "Can I bring my dog?": _answered("Dogs are welcome. [1]", (LEAVE, ["Leave", "5"])),
}


def test_the_diff_counts_changed_answers_lost_sources_and_refusals() -> None:
    diff = diff_answers(QUESTIONS, LIVE.__getitem__, CANDIDATE.__getitem__)
    by_id = {i.id: i for i in diff.items}
    assert [i.id for i in diff.items] == [q.id for q in QUESTIONS]
    assert by_id["same"].changed is False  # white space is not a change
    assert (by_id["reworded"].answer_changed, by_id["reworded"].citations_changed) == (True, False)
    lost = by_id["lost"]
    assert lost.lost_source and lost.citations_changed and not lost.newly_refused
    assert (lost.live.expected_rank, lost.candidate.expected_rank) == (1, 2)
    refused = by_id["refused"]
    assert refused.newly_refused and refused.lost_source and refused.candidate.expected_rank is None
    answered = by_id["answered"]  # nothing expected: never loses or gains a source
    assert answered.newly_answered and not answered.gained_source and not answered.lost_source
    s = diff.summary
    assert (s.questions, s.changed, s.lost_source, s.newly_refused, s.newly_answered) == (5, 4, 2, 1, 1)
    assert s.text == "4 answers change, 2 lose their expected source, 1 newly refused"


def test_summary_text_reads_well_for_one() -> None:
    assert summary_text(1, 1, 0) == "1 answer changes, 1 loses its expected source, 0 newly refused"
    assert summary_text(7, 2, 1) == "7 answers change, 2 lose their expected source, 1 newly refused"


def test_thresholds_fail_over_and_pass_at_or_under() -> None:
    diff = diff_answers(QUESTIONS, LIVE.__getitem__, CANDIDATE.__getitem__)
    ok, reasons = check_answers(diff.summary, AnswerThresholds(max_lost_source=1, max_newly_refused=1))
    assert ok is False and "2 answers lose their expected source > max 1" in reasons
    ok, reasons = check_answers(diff.summary, AnswerThresholds(max_lost_source=2, max_newly_refused=1))
    assert ok is True and "1 answers newly refused, within max 1" in reasons
    ok, reasons = check_answers(diff.summary, AnswerThresholds(max_newly_refused=0))
    assert ok is False and reasons[-1] == "1 answers newly refused > max 0"
    assert check_answers(diff.summary, AnswerThresholds())[0] is True  # unset: reported only


def test_diff_questions_add_the_unanswerable_ones_beside_the_golden_set(tmp_path: Path) -> None:
    (tmp_path / "golden.jsonl").write_text('{"id": "a1", "question": "Q?", "doc_ids": ["x.md"]}\n')
    (tmp_path / "unanswerable.jsonl").write_text(
        '{"id": "u1", "question": "Dog?"}\n\n{"id": "a1", "question": "Cat?"}\n'
    )
    golden = load_golden_set(tmp_path / "golden.jsonl")
    questions = diff_questions(golden, tmp_path)
    assert [(q.id, q.question, q.expected) for q in questions] == [
        ("a1", "Q?", ("x.md",)),
        ("u1", "Dog?", ()),
        ("unanswerable-2", "Cat?", ()),  # an id already taken is renamed
    ]
    assert diff_questions(golden, None) == questions[:1]
    (tmp_path / "unanswerable.jsonl").write_text('{"id": "u1"}\n')
    with pytest.raises(InvalidInput, match="line 1: needs a 'question'"):
        diff_questions(golden, tmp_path)


def _entry(source: str, text: str, groups: list[str] | None = None) -> DocumentEntry:
    digest = hashlib.sha256(text.encode()).hexdigest()
    metadata = {GROUPS_KEY: groups} if groups is not None else {}
    return DocumentEntry(
        doc_id=source,
        title=source,
        source=source,
        format="md",
        content_hash=digest,
        chunk_count=1,
        chars=len(text),
        metadata=metadata,
    )


def _manifest(version: int, docs: dict[str, str]) -> Manifest:
    return Manifest(
        index="policies",
        version=version,
        engine="edge",
        source="test",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        embedder=EmbedderSpec(model_id="m", dimension=3, max_seq_length=8),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=10.0),
        chunker=ChunkerSpec(max_tokens=16, overlap_tokens=0, embed_headings=False),
        documents=[_entry(s, t) for s, t in docs.items()],
        chunk_count=len(docs),
        chunks_embedded=len(docs),
    )


LEAVE_TEXT = "# Leave\n\n## Entitlement\n\nYou get **28 working days** a year.\n\n## Carry-over\n\nUp to 5 days.\n"


def test_stale_golden_questions_are_those_whose_expected_passage_changed() -> None:
    golden = GoldenSet(
        name="golden.jsonl",
        sha256="0" * 64,
        questions=(
            GoldenQuestion(id="days", question="Days?", doc_ids=(LEAVE,), evidence="28 working days a year"),
            GoldenQuestion(id="carry", question="Carry?", doc_ids=(LEAVE,), evidence="Up to 5 days"),
            GoldenQuestion(id="any", question="Leave?", doc_ids=(LEAVE,)),
            GoldenQuestion(id="sick", question="Sick?", doc_ids=("it/equipment.md", SICK)),
            GoldenQuestion(id="kept", question="Kept?", doc_ids=("it/equipment.md",), evidence="laptop"),
        ),
    )
    texts = {
        1: {LEAVE: LEAVE_TEXT, SICK: "# Sick\n\nCall by 9.\n", "it/equipment.md": "# IT\n\nA laptop.\n"},
        2: {LEAVE: LEAVE_TEXT.replace("28", "26"), "it/equipment.md": "# IT\n\nA laptop.\n"},
    }
    live, candidate = _manifest(1, texts[1]), _manifest(2, texts[2])
    read: list[str] = []

    def text_of(m: Manifest, e: DocumentEntry) -> str:
        read.append(e.content_hash)
        return texts[m.version][e.source]

    stale = stale_questions(golden, live, candidate, text_of)
    assert [(s.id, s.doc, s.reason, s.sections) for s in stale] == [
        ("days", LEAVE, "passage_changed", [["Leave", "Entitlement"]]),
        ("any", LEAVE, "document_changed", [["Leave", "Entitlement"]]),
        ("sick", SICK, "removed", []),
    ]  # "carry" quotes a section that did not change; "kept" a document that did not change
    assert len(read) == len(set(read)) == 2  # each text read once


def test_a_restricted_caller_sees_only_questions_about_their_documents() -> None:
    manifest = _manifest(2, {})
    manifest = manifest.model_copy(update={"documents": [_entry(LEAVE, "a", ["hr"]), _entry(SICK, "b", ["medical"])]})
    diff = diff_answers(QUESTIONS, LIVE.__getitem__, CANDIDATE.__getitem__)
    stored = {
        "golden": {"match": "source"},
        "items": [i.model_dump(mode="json") for i in diff.items],
        "stale_questions": [{"id": "same", "doc": LEAVE}, {"id": "lost", "doc": SICK}],
    }

    def in_hr(entry: DocumentEntry) -> bool:
        return "hr" in entry.metadata.get(GROUPS_KEY, [])

    items, stale = visible_answer_diff(stored, [manifest], in_hr, restricted=True)
    assert [i["id"] for i in items] == ["same", "reworded", "answered"]  # the others cite the medical document
    assert stale == [{"id": "same", "doc": LEAVE}]
    items, stale = visible_answer_diff(stored, [manifest], in_hr, restricted=False)
    assert len(items) == 5 and len(stale) == 2
