"""POST /v1/ask through the app's lifespan: answers with citations, refusals and error codes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory
from tests.support.openai_server import OpenAITestServer


def test_answer_has_citations_version_prompt_and_model(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "How many days of annual leave do full-time employees get?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refused"] is False
    assert body["index"] == {"name": "policies", "alias": "policies", "version": 1}
    assert body["prompt"] == {"name": "answer", "version": "v2"}
    assert body["model"] == {"provider": "extractive", "name": "extractive-v3"}
    assert body["citations"], body
    assert any(c["source"] == "people/annual-leave.md" for c in body["citations"])
    for c in body["citations"]:
        assert f"[{c['n']}]" in body["answer"]
        assert c["quote"] and c["quote"] in body["answer"]  # extractive: the answer is the quotes
        assert set(c) >= {"doc_id", "title", "heading_path", "page", "source", "chunk_id", "quote", "score"}
    assert set(body["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert len(body["answer_id"]) == 32


def test_citation_quotes_occur_verbatim_in_the_cited_chunk(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    points = {p.chunk.chunk_id: p.chunk for p in services.engine.iter_points("policies", 1)}
    for q in ("What is the per diem for domestic travel?", "How long must passwords be?"):
        body = client.post("/v1/ask", json={"question": q}).json()
        for c in body["citations"]:
            chunk = points[c["chunk_id"]]
            assert c["quote"] in chunk.text
            assert (c["doc_id"], c["source"], c["page"]) == (chunk.doc_id, chunk.source, chunk.page)


def test_pdf_citations_carry_page_numbers(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How soon must I submit an expense claim?"}).json()
    pdf = [c for c in body["citations"] if c["source"].endswith(".pdf")]
    assert pdf and all(isinstance(c["page"], int) and c["page"] >= 1 for c in pdf)


def test_an_uncovered_question_is_refused_without_citations(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What is the capital of Mongolia?"}).json()
    assert body["refused"] is True
    assert body["citations"] == []
    assert body["answer"] == "The policies do not cover this."


def test_answers_are_recorded(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Who do I report a security incident to?"}).json()
    stored = client.app.state.services.answers.get(body["answer_id"])  # type: ignore[attr-defined]
    assert stored is not None
    assert stored["answer"] == body["answer"] and stored["index"]["version"] == 1


def test_a_pinned_version_is_answered_by_that_version(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How many sick days?", "index": "policies@1"}).json()
    assert body["index"] == {"name": "policies", "alias": None, "version": 1}


def test_empty_question_is_422_with_a_stable_code(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": ""})
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_empty"
    for blank in ("   \n ", " \x00\t"):  # blank is empty, whatever the route that checks it
        r = client.post("/v1/ask", json={"question": blank})
        assert r.status_code == 422 and r.json()["error"]["code"] == "question_empty", r.text
        assert "question is empty" in r.json()["error"]["message"]
    r = client.post("/v1/chat/completions", json={"model": "policies", "messages": [{"role": "user", "content": " "}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_empty", r.text


def test_oversized_question_is_422(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "x" * 2001})
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_too_long"


def test_malformed_bodies_are_422_not_500(client: TestClient) -> None:
    for payload in ({}, {"question": 5}, {"question": "ok", "top_k": 0}, {"question": "ok", "extra": 1}):
        r = client.post("/v1/ask", json=payload)
        assert r.status_code == 422, payload
        assert r.json()["error"]["code"] in {"validation_error", "question_missing"}
    r = client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_unknown_index_or_version_is_404(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "leave?", "index": "handbook"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "index_not_found"
    r = client.post("/v1/ask", json={"question": "leave?", "index": "policies@9"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
    r = client.post("/v1/ask", json={"question": "leave?", "index": "Bad Name!"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_unreachable_model_is_503_and_the_live_index_is_untouched(client_factory: ClientFactory) -> None:
    client = client_factory(
        llm_model="gpt-test",
        llm_base_url="http://127.0.0.1:9/v1",
        llm_api_key="sk-secret-never-shown",
        llm_timeout_s=2,
        llm_max_retries=0,
    )
    r = client.post("/v1/ask", json={"question": "How many days of annual leave do I get?"})
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "model_unavailable"
    assert "127.0.0.1:9" in error["message"] and "sk-secret" not in error["message"]
    versions = client.get("/v1/indexes/policies/versions").json()
    assert [(v["version"], v["live"], v["state"]) for v in versions] == [(1, True, "ready")]


def test_openai_answerer_end_to_end(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        server.reply_with("You get 27 days [1]. Ask your manager [2]. See also [42].")
        client = client_factory(llm_model="policy-model", llm_base_url=server.base_url, llm_max_retries=0)
        body = client.post("/v1/ask", json={"question": "How many days of annual leave do I get?"}).json()
        seen = server.requests[-1]
    assert body["model"] == {"provider": "openai", "name": "policy-model"}
    assert body["citations_dropped"] == 1
    assert "[42]" not in body["answer"] and "[1]" in body["answer"]
    assert [c["n"] for c in body["citations"]] == [1, 2]
    assert seen.model == "policy-model"
    assert "How many days of annual leave do I get?" in seen.prompt
    assert "[1] " in seen.prompt  # numbered sources were sent


def test_refusals_do_not_call_the_model(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        server.reply_with("should never be used [1]")
        client = client_factory(llm_model="policy-model", llm_base_url=server.base_url)
        body = client.post("/v1/ask", json={"question": "What is the capital of Mongolia?"}).json()
        assert body["refused"] is True
        assert server.requests == []
