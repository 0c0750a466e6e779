"""The gate's answer diff answers exactly as ``/v1/ask`` would: the same text, byte for byte.

The diff embeds every question ahead in one batch and shares the answerer's sentence vectors
between the live version and the candidate; neither may change an answer. With the default
embedder (onnx-int8) a vector used to depend on the texts it was encoded with (dynamic int8
quantization scales a whole run), so these shortcuts changed answers; this test catches that.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from indexes.refs import IndexRef
from rag.evaluation.answer_diff import diff_questions
from rag.evaluation.answer_gate import AnswerThresholds, answer_gate
from rag.evaluation.golden import load_golden_set
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR, ServicesFactory


def test_answer_diff_answers_equal_the_answers_of_one_question_at_a_time(
    sample_copy: Path, services_factory: ServicesFactory, tmp_path: Path
) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_DIR, edited)
    leave = edited / "people/annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "26 working days"))
    travel = edited / "finance/travel.md"
    travel.write_text(travel.read_text().replace("economy", "the cheapest available"))
    data = sample_copy  # v1: the sample, built and promoted (the session's build, not built again here)

    s = services_factory(data, extractive_semantic=True)  # the production answerer: words and meaning
    assert s.registry.live_version("policies") == 1
    candidate = s.builder.build("policies", edited).manifest
    golden = load_golden_set(GOLDEN_DIR / "golden.jsonl")
    every = diff_questions(golden, GOLDEN_DIR)
    questions = every[:24] + every[-8:]  # golden questions, then unanswerable ones
    result = answer_gate(
        {"live": {"version": 1}, "passed": True, "reasons": []},
        assistant=s.assistant,
        registry=s.registry,
        texts=s.texts,
        store=s.answer_diffs,
        manifest=candidate,
        golden=golden,
        questions=questions,
        thresholds=AnswerThresholds(),
    )
    assert result["answers"]["answerer"] == "extractive/extractive-v3-semantic"
    stored = s.answer_diffs.get("policies", candidate.version)
    assert stored is not None
    items = stored["items"]
    assert [i["id"] for i in items] == [q.id for q in questions]
    assert any(i["answer_changed"] for i in items)  # the edits show
    assert sum(not i["live"]["refused"] for i in items) >= 16  # answers to compare, not refusals
    s.close()

    fresh = services_factory(data, extractive_semantic=True)  # nothing cached: one question at a time
    live = fresh.registry.resolve(IndexRef("policies", 1))
    cand = fresh.registry.resolve(IndexRef("policies", candidate.version))
    for item in reversed(items):  # another order than the diff's: no cache state may matter
        for side, version in (("candidate", cand), ("live", live)):
            record, _ = fresh.assistant.ask_version(item["question"], version)
            assert (record.answer, record.refused) == (item[side]["answer"], item[side]["refused"]), (
                item["id"],
                side,
            )
