"""Hostile input at the API edge (issue 10, items 9, 10 and 14): out-of-range numbers, control
characters, strings for numbers and booleans, and unhelpful messages. Every refusal is a 422 (or
401) in the documented shape, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import create_key_headers, services_of
from tests.faults import edge_apps
from tests.faults.edge_apps import EdgeClients
from tests.indexes import test_catalog_postgres
from tests.support.openai_server import OpenAITestServer

edge_clients, pg_edge, pg_url = edge_apps.edge_clients, edge_apps.pg_edge, test_catalog_postgres.pg_url  # fixtures

HUGE = "99999999999999999999"  # beyond SQLite's (and PostgreSQL's) integer range


def _error(r: Any) -> tuple[int, str, str]:
    assert r.headers["content-type"].startswith("application/json"), (r.status_code, r.text)
    error = r.json()["error"]
    return r.status_code, error["code"], error["message"]


@pytest.fixture()
def edge(edge_clients: EdgeClients) -> TestClient:
    return edge_clients(worker_enabled=False)


def test_version_numbers_beyond_the_integer_range_are_422(edge: TestClient) -> None:
    base = "/v1/indexes/policies"
    for r in (
        edge.get(f"{base}/versions/{HUGE}/documents/people/annual-leave.md"),
        edge.post(f"{base}/promote", content=f'{{"version": {HUGE}}}', headers={"content-type": "application/json"}),
        edge.get(f"{base}/diff", params={"from": "1", "to": HUGE}),
        edge.post(
            f"{base}/canary",
            content=f'{{"version": {HUGE}, "share": 0.5}}',
            headers={"content-type": "application/json"},
        ),
    ):
        assert _error(r)[:2] == (422, "validation_error"), r.text


def test_a_nul_byte_in_a_folder_path_is_422(edge: TestClient) -> None:
    status, code, message = _error(edge.put("/v1/indexes/policies/source", json={"folder": "/srv/poli\x00cies"}))
    assert (status, code) == (422, "validation_error") and "U+0000" in message
    status, code, _ = _error(edge.post("/v1/indexes/policies/builds", json={"source": "/srv/\x00"}))
    assert (status, code) == (422, "validation_error")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs/ab%00cd",
        "/v1/answers/ab%00cd",
        "/v1/audit?actor=ad%00min",
        "/v1/jobs?index=poli%00cies",
        "/v1/indexes/policies/documents/a%00b.md",
    ],
)
def test_control_characters_in_paths_and_queries_are_422(edge: TestClient, path: str) -> None:
    status, code, message = _error(edge.get(path))
    assert (status, code) == (422, "validation_error") and "U+0000" in message


def test_strings_are_not_taken_for_numbers_or_booleans(edge: TestClient) -> None:
    for url, body in (
        ("/v1/ask", {"question": "How many vacation days do I get?", "stream": "true"}),
        ("/v1/ask", {"question": "How many vacation days do I get?", "top_k": "3"}),
        ("/v1/indexes/policies/promote", {"version": "1"}),
        ("/v1/indexes/policies/canary", {"version": 1, "share": "0.5"}),
        ("/v1/indexes/policies/retention", {"keep": "2"}),
        ("/v1/chat/completions", {"model": "policies", "messages": [{"role": "user", "content": "x"}], "stream": 1}),
    ):
        status, code, _ = _error(edge.post(url, json=body))
        assert (status, code) == (422, "validation_error"), (url, body)


def test_a_canary_share_that_is_not_a_number_says_so(edge: TestClient) -> None:
    r = edge.post(
        "/v1/indexes/policies/canary",
        content=b'{"version": 1, "share": NaN}',
        headers={"content-type": "application/json"},
    )
    status, code, message = _error(r)
    assert (status, code) == (422, "validation_error") and "finite" in message and "<= 1" not in message


def test_a_blank_owner_is_called_blank_not_missing(edge: TestClient) -> None:
    for owner in (" ", ""):
        r = edge.put(
            "/v1/indexes/policies/documents/notice.md",
            files={"file": ("notice.md", b"# Notice\n\nText.\n", "text/markdown")},
            data={"owner": owner},
        )
        status, _, message = _error(r)
        assert status == 422 and message.startswith("owner") and "blank" in message, (owner, message)
        assert "required" not in message.lower() or "must not be blank" in message


def test_a_basic_authorization_header_is_told_to_use_bearer(edge_clients: EdgeClients) -> None:
    client = edge_clients(worker_enabled=False)
    secret = client.headers["authorization"].split()[1]
    status, code, message = _error(client.get("/v1/me", headers={"Authorization": f"Basic {secret}"}))
    assert (status, code) == (401, "unauthorized") and "Bearer" in message and "Basic" in message
    assert "missing" not in message


def test_control_characters_in_questions_are_removed_on_sqlite(edge: TestClient) -> None:
    _questions_and_names_with_control_characters(edge)


def test_control_characters_in_questions_are_removed_on_postgres(pg_edge: TestClient) -> None:
    _questions_and_names_with_control_characters(pg_edge)


def _questions_and_names_with_control_characters(client: TestClient) -> None:
    question = "How many days of paid\x00 leave do I get?\x07"
    answer = client.post("/v1/ask", json={"question": question})
    assert answer.status_code == 200, answer.text
    assert answer.json()["question"] == "How many days of paid leave do I get?"
    chat = client.post(
        "/v1/chat/completions", json={"model": "policies", "messages": [{"role": "user", "content": question}]}
    )
    assert chat.status_code == 200, chat.text
    # A question of control characters only is empty, as an empty one is.
    assert _error(client.post("/v1/ask", json={"question": "\x00\x01"}))[:2] == (422, "question_empty")
    assert _error(client.post("/v1/ask", json={"question": "\x00", "stream": True}))[:2] == (422, "question_empty")
    status, code, _ = _error(
        client.post(
            "/v1/chat/completions", json={"model": "policies", "messages": [{"role": "user", "content": "\x00"}]}
        )
    )
    assert (status, code) == (422, "question_empty")
    # Names (an index, a chat model, an uploaded file's name) with one are refused, not stored.
    status, code, _ = _error(client.post("/v1/ask", json={"question": "Leave?", "index": "poli\x00cies"}))
    assert (status, code) == (422, "validation_error")
    chat_body = {"model": "poli\x00cies", "messages": [{"role": "user", "content": "Leave?"}]}
    assert _error(client.post("/v1/chat/completions", json=chat_body))[:2] == (422, "validation_error")
    raw = (  # by hand: HTTP clients escape a NUL in a file name, a hostile one need not
        b'--b\r\nContent-Disposition: form-data; name="owner"\r\n\r\nops\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="no\x00tice.md"\r\n'
        b"Content-Type: text/markdown\r\n\r\n# Notice\n\nText.\n\r\n--b--\r\n"
    )
    upload = client.put(
        "/v1/indexes/policies/documents/notice.md",
        content=raw,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert _error(upload)[:2] == (422, "invalid_input")
    # A key name with a control character is refused and nothing is stored.
    before = len(services_of(client).keys.list_keys())
    status, code, message = _error(client.post("/v1/keys", json={"name": "bot\x00", "role": "employee"}))
    assert (status, code) == (422, "validation_error") and "U+0000" in message
    assert len(services_of(client).keys.list_keys()) == before
    # A streamed answer completes and its audit row says ok.
    with client.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as r:
        events = "".join(r.iter_text())
    assert "event: answer" in events and "event: error" not in events
    assert services_of(client).audit.entries(action="ask", limit=1)[0].outcome == "ok"
    # Feedback comments lose their control characters too.
    answer_id = answer.json()["answer_id"]
    feedback = client.post(f"/v1/answers/{answer_id}/feedback", json={"rating": "up", "comment": "fine\x00"})
    assert feedback.status_code == 201 and feedback.json()["comment"] == "fine"
    assert create_key_headers(client, "employee")  # the key store still works after all of it


def test_the_audit_row_of_a_stream_that_fails_mid_way_says_it_failed(edge_clients: EdgeClients) -> None:
    with OpenAITestServer() as server:
        server.break_stream_after(3, "You get 27 days [1] off.")
        client = edge_clients(llm_model="policy-model", llm_base_url=server.base_url, llm_max_retries=0)
        with client.stream("POST", "/v1/ask", json={"question": "How many vacation days?", "stream": True}) as r:
            events = "".join(r.iter_text())
    assert "event: error" in events and "event: answer" not in events
    row = services_of(client).audit.entries(action="ask", limit=1)[0]
    assert row.outcome == "model_unavailable" and row.target is None and row.details["stream"] is True
