"""Follow-up questions: conversations checked at the edge, follow-ups made standalone and searched.

The dialogues (tests/rag/data/followups.jsonl) are two-turn conversations over the sample
handbook whose second question means little alone ("And for part-timers?").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from indexes.refs import IndexRef
from ingest.embedding import Embedder
from prompts import load_prompt
from rag.conversation import (
    CombiningCondenser,
    ConversationLimits,
    ModelCondenser,
    Turn,
    clean_turns,
    split_conversation,
)
from rag.errors import ConversationTooLong, ConversationWithoutQuestion, ModelUnavailable
from rag.wiring import Services, build_services
from tests.conftest import make_settings
from tests.support.openai_server import OpenAITestServer

DIALOGUES = Path(__file__).parent / "data" / "followups.jsonl"


def load_dialogues() -> list[dict[str, Any]]:
    """The two-turn dialogues: ``first``, ``follow_up`` and the ``doc_ids`` (sources) that answer it."""
    return [json.loads(line) for line in DIALOGUES.read_text().splitlines() if line.strip()]


def rank_of_document(services: Services, query: str, doc_ids: list[str], k: int = 5) -> int | None:
    """The 1-based rank of the first of the top ``k`` chunks for ``query`` from one of ``doc_ids`` (None: none)."""
    version = services.registry.resolve(IndexRef.parse("policies"))
    hits = services.assistant.retriever.search(version, query, k)
    return next((i for i, h in enumerate(hits, start=1) if h.chunk.source in doc_ids), None)


@pytest.fixture(scope="module")
def sample_services(
    built_sample: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    """Services over a private copy of the built sample handbook, shared by this module's tests."""
    target = tmp_path_factory.mktemp("followups") / "data"
    shutil.copytree(built_sample, target)
    services = build_services(make_settings(target), embedder=embedder)
    yield services
    services.close()
    shutil.rmtree(target, ignore_errors=True)


def test_there_are_at_least_30_dialogues_each_naming_a_sample_document(sample_dir: Path) -> None:
    dialogues = load_dialogues()
    assert len(dialogues) >= 30
    assert len({d["id"] for d in dialogues}) == len(dialogues)
    for d in dialogues:
        assert d["doc_ids"] and all((sample_dir / doc).is_file() for doc in d["doc_ids"]), d["id"]


def test_follow_ups_combined_with_the_previous_question_retrieve_the_right_document(
    sample_services: Services,
) -> None:
    dialogues = load_dialogues()
    condenser = CombiningCondenser()
    combined = [
        rank_of_document(
            sample_services, condenser.standalone(d["follow_up"], [Turn("user", d["first"])]), d["doc_ids"]
        )
        for d in dialogues
    ]
    alone = [rank_of_document(sample_services, d["follow_up"], d["doc_ids"]) for d in dialogues]

    def share(ranks: list[int | None], k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)

    figures = f"combined @1 {share(combined, 1):.2f} @5 {share(combined, 5):.2f}; alone @1 {share(alone, 1):.2f}"
    assert share(combined, 1) >= 0.8 and share(combined, 5) >= 0.8, figures
    assert share(combined, 1) > share(alone, 1), figures  # the earlier turn is what makes the difference


def test_the_answer_record_stores_the_standalone_question(sample_services: Services) -> None:
    history = [Turn("user", "How long does my password have to be?"), Turn("assistant", "At least 14 characters.")]
    record = sample_services.assistant.ask("And how often must I change it?", history=history)
    assert record.question == "And how often must I change it?"
    assert record.standalone_question == "How long does my password have to be? And how often must I change it?"
    assert any(c.source == "security/passwords-and-mfa.md" for c in record.citations)
    stored = sample_services.answers.get(record.answer_id)
    assert stored is not None and stored["standalone_question"] == record.standalone_question
    alone = sample_services.assistant.ask("How long does my password have to be?", record=False)
    assert alone.standalone_question is None


def test_split_conversation_answers_the_last_user_turn_and_keeps_the_earlier_ones() -> None:
    turns = clean_turns(
        [("system", "be brief"), ("user", "Leave?\x00"), ("assistant", "28 days."), ("user", "And part-time?")]
    )
    question, history = split_conversation(turns, ConversationLimits())
    assert question == "And part-time?"
    assert history == [Turn("user", "Leave?"), Turn("assistant", "28 days.")]


def test_a_conversation_of_assistant_turns_only_has_no_question() -> None:
    with pytest.raises(ConversationWithoutQuestion) as caught:
        split_conversation([Turn("assistant", "Hello")], ConversationLimits())
    assert caught.value.code == "conversation_without_question" and caught.value.status == 422


@pytest.mark.parametrize(
    ("limits", "turns"),
    [
        (ConversationLimits(max_chars=20), [Turn("user", "x" * 15), Turn("user", "y" * 6)]),
        (ConversationLimits(max_messages=2), [Turn("user", "a"), Turn("assistant", "b"), Turn("user", "c")]),
    ],
)
def test_a_conversation_over_a_limit_is_too_long(limits: ConversationLimits, turns: list[Turn]) -> None:
    with pytest.raises(ConversationTooLong) as caught:
        split_conversation(turns, limits)
    assert caught.value.code == "conversation_too_long" and caught.value.status == 422


def _condenser(server: OpenAITestServer) -> ModelCondenser:
    client = openai.OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0, timeout=5.0)
    return ModelCondenser(client, "condense-model", load_prompt("condense/v1"))


def test_with_a_model_the_condense_prompt_makes_the_question_standalone(openai_server: OpenAITestServer) -> None:
    openai_server.reply_with("How many days of annual leave do part-time employees get?")
    history = [Turn("user", "How many vacation days do I get?"), Turn("assistant", "28 working days [1].")]
    standalone = _condenser(openai_server).standalone("And for part-timers?", history)
    assert standalone == "How many days of annual leave do part-time employees get?"
    [request] = openai_server.requests
    assert "Employee: How many vacation days do I get?" in request.prompt
    assert "Assistant: 28 working days [1]." in request.prompt
    assert "Last question: And for part-timers?" in request.prompt


def test_without_history_the_model_is_not_asked(openai_server: OpenAITestServer) -> None:
    assert _condenser(openai_server).standalone("How long is probation?", []) == "How long is probation?"
    assert openai_server.requests == []


@pytest.mark.parametrize("reply", ["", "   ", "x" * 5000])
def test_an_empty_or_runaway_rewrite_falls_back_to_combining(openai_server: OpenAITestServer, reply: str) -> None:
    openai_server.reply_with(reply)
    history = [Turn("user", "How long does my password have to be?")]
    standalone = _condenser(openai_server).standalone("And how often must I change it?", history)
    assert standalone == "How long does my password have to be? And how often must I change it?"


def test_an_unreachable_condense_model_is_model_unavailable(openai_server: OpenAITestServer) -> None:
    openai_server.fail_with(500)
    with pytest.raises(ModelUnavailable):
        _condenser(openai_server).standalone("And for part-timers?", [Turn("user", "Vacation days?")])
