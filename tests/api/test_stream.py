"""POST /v1/ask with stream: true -- server-sent events: deltas, citations, the answer record, errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory
from tests.api.sse import parse_events
from tests.support.openai_server import OpenAITestServer

QUESTION = "How many days of annual leave do full-time employees get?"


def _stream(client: TestClient, **body: Any) -> tuple[int, str, list[tuple[str, Any]]]:
    r = client.post("/v1/ask", json={"stream": True, **body})
    return r.status_code, r.headers.get("content-type", ""), parse_events(r.text)


def test_extractive_answer_streams_deltas_then_citations_then_the_record(client: TestClient) -> None:
    status, ctype, events = _stream(client, question=QUESTION)
    assert status == 200 and ctype.startswith("text/event-stream")
    names = [n for n, _ in events]
    assert names[-2:] == ["citations", "answer"] and set(names[:-2]) == {"delta"}
    assert len(names) - 2 >= 2, "the extractive answerer streams sentence by sentence"
    record = events[-1][1]
    deltas = "".join(d["text"] for n, d in events if n == "delta")
    assert deltas == record["answer"]
    assert events[-2][1]["citations"] == record["citations"] and record["citations"]
    assert client.app.state.services.answers.get(record["answer_id"]) == record  # type: ignore[attr-defined]


def test_streamed_record_matches_the_plain_answer(client: TestClient) -> None:
    plain = client.post("/v1/ask", json={"question": QUESTION}).json()
    streamed = _stream(client, question=QUESTION)[2][-1][1]
    for key in ("answer", "citations", "index", "prompt", "model", "refused", "citations_dropped"):
        assert streamed[key] == plain[key], key
    assert streamed["answer_id"] != plain["answer_id"]


def test_a_refusal_streams_not_covered(client: TestClient) -> None:
    _, _, events = _stream(client, question="What is the capital of Mongolia?")
    assert [n for n, _ in events] == ["delta", "citations", "answer"]
    assert events[0][1]["text"] == "The policies do not cover this."
    assert events[1][1]["citations"] == [] and events[2][1]["refused"] is True


def test_bad_input_is_a_plain_json_error_not_a_stream(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "leave?", "index": "handbook", "stream": True})
    assert r.status_code == 404 and r.json()["error"]["code"] == "index_not_found"
    r = client.post("/v1/ask", json={"question": "   ", "stream": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_empty"


def test_openai_answerer_streams_and_unknown_markers_never_reach_the_client(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        server.reply_with("You get 27 days [1]. Ask your manager [2]. See also [42].")
        client = client_factory(llm_model="policy-model", llm_base_url=server.base_url, llm_max_retries=0)
        _, _, events = _stream(client, question=QUESTION)
        assert server.requests[-1].stream is True
    deltas = [d["text"] for n, d in events if n == "delta"]
    assert len(deltas) > 5, "the model's pieces are passed on as they come"
    joined = "".join(deltas)
    assert "42" not in joined and "[1]" in joined and "[2]" in joined
    record = events[-1][1]
    assert record["citations_dropped"] == 1 and [c["n"] for c in record["citations"]] == [1, 2]
    assert record["model"] == {"provider": "openai", "name": "policy-model"}


def test_a_model_failure_mid_stream_is_an_error_event_and_nothing_is_recorded(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        server.break_stream_after(3, "You get 27 days [1] off.")
        client = client_factory(llm_model="policy-model", llm_base_url=server.base_url, llm_max_retries=0)
        before = client.app.state.services.answers.count()  # type: ignore[attr-defined]
        _, _, events = _stream(client, question=QUESTION)
        after = client.app.state.services.answers.count()  # type: ignore[attr-defined]
    names = [n for n, _ in events]
    assert names[-1] == "error" and "answer" not in names
    assert events[-1][1]["code"] == "model_unavailable"
    assert after == before


def test_openapi_documents_the_event_stream(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/v1/ask"]["post"]
    assert "text/event-stream" in ask["responses"]["200"]["content"]
    assert "stream" in spec["components"]["schemas"]["AskRequest"]["properties"]
