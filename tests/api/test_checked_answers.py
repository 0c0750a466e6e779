"""Model answers checked against their sources (ask, stream, chat), follow-ups, and conversation input errors.

The "model" is the OpenAI-protocol test server on loopback; its planted answers cite the prompt's
source that holds the fact, found by reading the numbered sources of the prompt as a model would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from rag.answer_check import WITHHELD
from tests.api.conftest import ClientFactory
from tests.api.sse import parse_events
from tests.support.openai_server import OpenAITestServer

QUESTION = "How many days of annual leave do full-time employees get?"
FACT = "28 working days of paid annual leave"
_HEADER = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


def source_number(prompt: str, phrase: str) -> int:
    """The number of the prompt's source whose text holds ``phrase``."""
    headers = list(_HEADER.finditer(prompt))
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(prompt)
        if phrase in prompt[header.start() : end]:
            return int(header.group(1))
    raise AssertionError(f"no source of the prompt holds {phrase!r}")


def planted(template: str) -> Callable[[str], str]:
    """A responder citing, as ``{n}``, the source that states the leave entitlement."""

    def respond(prompt: str) -> str:
        if "Standalone question:" in prompt:
            return "How many days of annual leave do part-time employees get?"
        return template.format(n=source_number(prompt, FACT))

    return respond


FAITHFUL = "Full-time employees get 28 working days of paid annual leave per calendar year [{n}]."
CHANGED = "Full-time employees get 30 working days of paid annual leave per calendar year [{n}]."
INVENTED = FAITHFUL + " Unused days are paid out in cash every December."


def _model_client(client_factory: ClientFactory, server: OpenAITestServer, **settings: Any) -> TestClient:
    return client_factory(llm_model="policy-model", llm_base_url=server.base_url, llm_max_retries=0, **settings)


def _flagged(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in record["support"] if not s["supported"]]


def test_model_answers_carry_per_sentence_support_in_ask_stream_and_chat(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        client = _model_client(client_factory, server)

        server.respond_with(planted(FAITHFUL))
        faithful = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert faithful["grounded"] is True and faithful["refused"] is False
        [sentence] = faithful["support"]
        assert sentence["supported"] and sentence["figures"] == ["28"] and sentence["problems"] == []

        server.respond_with(planted(CHANGED))
        changed = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert changed["grounded"] is False and changed["answer"].startswith("Full-time employees get 30")
        [flag] = _flagged(changed)
        assert flag["problems"] == ["figure_not_in_source"] and flag["missing_figures"] == ["30"]
        stored = client.app.state.services.answers.get(changed["answer_id"])  # type: ignore[attr-defined]
        assert stored["grounded"] is False and stored["support"] == changed["support"]

        server.respond_with(planted(INVENTED))
        events = parse_events(client.post("/v1/ask", json={"question": QUESTION, "stream": True}).text)
        record = events[-1][1]
        assert events[-1][0] == "answer" and record["grounded"] is False
        assert [s["problems"] for s in record["support"]] == [[], ["no_citation"]]

        chat = client.post(
            "/v1/chat/completions", json={"model": "policies", "messages": [{"role": "user", "content": QUESTION}]}
        )
        body = chat.json()
        assert chat.status_code == 200 and body["grounded"] is False
        assert [s["supported"] for s in body["support"]] == [True, False]

        streamed = client.post(
            "/v1/chat/completions",
            json={"model": "policies", "stream": True, "messages": [{"role": "user", "content": QUESTION}]},
        )
        chunks = [d for _, d in parse_events(streamed.text) if isinstance(d, dict)]
        last = next(c for c in chunks if c["choices"][0]["finish_reason"] == "stop")
        assert last["grounded"] is False and len(last["support"]) == 2


def test_a_model_answer_without_citations_is_flagged_never_a_500(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        client = _model_client(client_factory, server)
        server.reply_with("You get plenty of leave. Enjoy it!")
        r = client.post("/v1/ask", json={"question": QUESTION})
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["grounded"] is False and record["citations"] == []
        assert [s["problems"] for s in record["support"]] == [["no_citation"], ["no_citation"]]
        events = parse_events(client.post("/v1/ask", json={"question": QUESTION, "stream": True}).text)
        assert events[-1][0] == "answer" and events[-1][1]["grounded"] is False
        metrics = client.get("/metrics").text
        assert 'rag_unsupported_sentences_total{index="policies",problem="no_citation"} 4.0' in metrics


def test_refuse_mode_withholds_unsupported_answers_and_holds_the_stream(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        client = _model_client(client_factory, server, unsupported_answers="refuse")
        server.respond_with(planted(CHANGED))
        record = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert record["refused"] is True and record["answer"] == WITHHELD and record["citations"] == []
        assert record["grounded"] is False and _flagged(record)[0]["missing_figures"] == ["30"]

        events = parse_events(client.post("/v1/ask", json={"question": QUESTION, "stream": True}).text)
        deltas = [d["text"] for n, d in events if n == "delta"]
        assert deltas == [WITHHELD], "nothing of the unchecked text reaches the client"

        server.respond_with(planted(FAITHFUL))
        events = parse_events(client.post("/v1/ask", json={"question": QUESTION, "stream": True}).text)
        deltas = [d["text"] for n, d in events if n == "delta"]
        assert len(deltas) == 1 and deltas[0].startswith("Full-time employees get 28")
        assert events[-1][1]["grounded"] is True and events[-1][1]["refused"] is False


def test_follow_ups_are_made_standalone_by_the_model_and_recorded(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        client = _model_client(client_factory, server)
        server.respond_with(planted(FAITHFUL))
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "How many vacation days do I get?"},
            {"role": "assistant", "content": "28 working days [1]."},
            {"role": "user", "content": "And for part-timers?"},
        ]
        body = client.post("/v1/chat/completions", json={"model": "policies", "messages": messages}).json()
        assert body["standalone_question"] == "How many days of annual leave do part-time employees get?"
        condense, answer = server.requests
        assert "Last question: And for part-timers?" in condense.prompt
        assert "Employee: How many vacation days do I get?" in condense.prompt
        assert "Question: How many days of annual leave do part-time employees get?" in answer.prompt
        stored = client.app.state.services.answers.get(body["answer_id"])  # type: ignore[attr-defined]
        assert stored["question"] == "And for part-timers?"
        assert stored["standalone_question"] == body["standalone_question"]


def test_ask_history_makes_a_follow_up_without_a_model(client: TestClient) -> None:
    history = [
        {"role": "user", "content": "How long does my password have to be?"},
        {"role": "assistant", "content": "At least 14 characters."},
    ]
    record = client.post("/v1/ask", json={"question": "And how often must I change it?", "history": history}).json()
    assert record["standalone_question"] == "How long does my password have to be? And how often must I change it?"
    assert any(c["source"] == "security/passwords-and-mfa.md" for c in record["citations"])
    assert record["grounded"] is True and record["support"] == []  # extractive answers quote their sources


def test_bad_conversations_are_422_with_stable_codes_and_nothing_recorded(client_factory: ClientFactory) -> None:
    client = client_factory(max_conversation_chars=200, max_conversation_messages=4)
    answers = client.app.state.services.answers  # type: ignore[attr-defined]
    before = answers.count()

    def chat(messages: list[dict[str, str]], stream: bool = False) -> tuple[int, str]:
        r = client.post("/v1/chat/completions", json={"model": "policies", "messages": messages, "stream": stream})
        return r.status_code, r.json()["error"]["code"]

    only_assistant = [{"role": "assistant", "content": "Hello, how can I help?"}]
    assert chat(only_assistant) == (422, "conversation_without_question")
    assert chat([{"role": "system", "content": "x"}, *only_assistant], stream=True) == (
        422,
        "conversation_without_question",
    )
    long = [{"role": "user", "content": "leave? " * 20}, {"role": "assistant", "content": "28 days. " * 10}]
    assert chat([*long, {"role": "user", "content": "And part-time?"}]) == (422, "conversation_too_long")
    many = [{"role": "user", "content": "hi"}] * 5
    assert chat(many, stream=True) == (422, "conversation_too_long")
    r = client.post("/v1/ask", json={"question": "And part-time?", "history": long})
    assert r.status_code == 422 and r.json()["error"]["code"] == "conversation_too_long"
    r = client.post("/v1/ask", json={"question": "And part-time?", "history": [{"role": "bot", "content": "x"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert answers.count() == before
