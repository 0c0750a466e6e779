"""As-of answers over the real app: the version live then answers (ask, stream, chat), never the canary;
the history route; 404 before the first promotion, 410 once retention dropped the version."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import create_key_headers, services_of
from tests.api.sse import parse_events
from tests.conftest import SAMPLE_DIR

BASE = "/v1/indexes/policies"
QUESTION = "How many days of annual leave do I get?"


def _edited_copy(tmp_path: Path) -> Path:
    src = tmp_path / "handbook-v2"
    shutil.copytree(SAMPLE_DIR, src)
    leave = src / "people" / "annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "30 working days"))
    return src


def _error(response: object, status: int, code: str) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == code, error
    return str(error["message"])


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def test_as_of_answers_from_the_version_live_then(client: TestClient, tmp_path: Path) -> None:
    services = services_of(client)
    services.builder.build("policies", _edited_copy(tmp_path))  # v2: 30 days instead of 28
    assert client.post(f"{BASE}/promote", json={"version": 2}).status_code == 200

    history = client.get(f"{BASE}/history")
    assert history.status_code == 200, history.text
    spans = history.json()
    assert [(s["version"], s["action"], s["actor"], s["state"]) for s in spans] == [
        (1, "promote", None, "ready"),  # promoted by the build, before actors were named
        (2, "promote", "test-admin", "ready"),
    ]
    v1_from, v2_from = _time(spans[0]["live_from"]), _time(spans[1]["live_from"])
    assert v1_from is not None and v2_from is not None and _time(spans[0]["live_until"]) == v2_from
    while_v1 = v1_from + (v2_from - v1_from) / 2

    # a moment in another zone (+05:30) is that moment: v1 answers, and says when it was live
    local = while_v1.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    r = client.post("/v1/ask", json={"question": QUESTION, "as_of": local})
    assert r.status_code == 200, r.text
    index = r.json()["index"]
    assert (index["name"], index["alias"], index["version"]) == ("policies", "policies", 1)
    assert (_time(index["as_of"]), _time(index["live_from"]), _time(index["live_until"])) == (
        while_v1,
        v1_from,
        v2_from,
    )
    assert "28 working days" in r.json()["answer"] and "30 working days" not in r.json()["answer"]

    # a date-time without a zone is UTC; now, v2 answers and is still live
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    r = client.post("/v1/ask", json={"question": QUESTION, "as_of": now})
    assert r.status_code == 200, r.text
    assert (r.json()["index"]["version"], r.json()["index"]["live_until"]) == (2, None)
    assert "30 working days" in r.json()["answer"]

    # a bare date is the end of that day (UTC): the day before v1 went live had no version
    day_before = (v1_from - timedelta(days=1)).date().isoformat()
    message = _error(
        client.post("/v1/ask", json={"question": QUESTION, "as_of": day_before}), 404, "no_version_live_then"
    )
    assert "first version went live" in message
    today = datetime.now(UTC).date().isoformat()
    assert client.post("/v1/ask", json={"question": QUESTION, "as_of": today}).json()["index"]["version"] == 2

    # the canary takes every unpinned question, but never an as-of one
    assert client.post(f"{BASE}/canary", json={"version": 1, "share": 1.0}).status_code == 200
    plain = client.post("/v1/ask", json={"question": QUESTION}).json()["index"]
    assert (plain["alias"], plain["version"]) == ("policies:canary", 1)
    as_of_now = client.post("/v1/ask", json={"question": QUESTION, "as_of": now}).json()["index"]
    assert (as_of_now["alias"], as_of_now["version"]) == ("policies", 2)

    # the streamed ask and the chat completions take as_of too
    streamed = client.post("/v1/ask", json={"question": QUESTION, "as_of": local, "stream": True})
    assert streamed.status_code == 200, streamed.text
    final = [data for name, data in parse_events(streamed.text) if name == "answer"]
    assert len(final) == 1 and final[0]["index"]["version"] == 1 and final[0]["index"]["live_until"] is not None
    chat = client.post(
        "/v1/chat/completions",
        json={"model": "policies", "messages": [{"role": "user", "content": QUESTION}], "as_of": local},
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["index"]["version"] == 1 and _time(chat.json()["index"]["as_of"]) == while_v1

    # an employee sees the spans, not who switched the alias
    employee = create_key_headers(client, "employee")
    seen = client.get(f"{BASE}/history", headers=employee).json()
    assert [(s["version"], s["actor"]) for s in seen] == [(1, None), (2, None)]

    # retention drops v1 (no longer canary): as-of questions about its time answer 410, naming it and when
    assert client.delete(f"{BASE}/canary").status_code == 200
    dropped = client.post(f"{BASE}/retention", json={"keep": 1, "keep_days": 0})
    assert dropped.json()["dropped"] == [1], dropped.text
    message = _error(client.post("/v1/ask", json={"question": QUESTION, "as_of": local}), 410, "version_dropped")
    dropped_at = services.catalog.dropped_at("policies", 1)
    assert dropped_at is not None and "policies v1" in message and dropped_at.isoformat() in message
    listed = {v["version"]: v for v in client.get(f"{BASE}/versions").json()}
    assert listed[1]["state"] == "dropped" and listed[1]["manifest"] is not None
    after = client.get(f"{BASE}/history").json()
    assert (after[0]["state"], _time(after[0]["dropped_at"])) == ("dropped", dropped_at)


def test_bad_as_of_is_a_clear_error(client: TestClient) -> None:
    ask = "/v1/ask"
    for bad in ("yesterday", "2026-13-01", " ", "2026-02-30T10:00"):
        _error(client.post(ask, json={"question": QUESTION, "as_of": bad}), 422, "invalid_as_of")
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    _error(client.post(ask, json={"question": QUESTION, "as_of": future}), 422, "invalid_as_of")
    message = _error(
        client.post(ask, json={"question": QUESTION, "index": "policies@1", "as_of": "2026-01-01"}),
        422,
        "invalid_input",
    )
    assert "exclude each other" in message
    _error(client.post(ask, json={"question": QUESTION, "as_of": 20260101}), 422, "validation_error")
    _error(client.get("/v1/indexes/handbook/history"), 404, "index_not_found")
