"""/metrics, the X-Request-ID header and the JSON access log."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rag.logs import configure_logging


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_answers_per_version_refusals_and_latency(client: TestClient) -> None:
    client.post("/v1/ask", json={"question": "How long must passwords be?"})
    client.post("/v1/ask", json={"question": "How long must passwords be?", "index": "policies@1"})
    client.post("/v1/ask", json={"question": "What is the capital of Mongolia?", "stream": True})
    client.post("/v1/ask", json={"question": "x", "index": "nope"})  # 404: not an answer
    s = _samples(client)
    assert _value(s, "rag_queries_total", index="policies", version="1", via="live") == 2
    assert _value(s, "rag_queries_total", index="policies", version="1", via="pinned") == 1
    assert _value(s, "rag_refusals_total", index="policies") == 1
    assert _value(s, "rag_retrieval_duration_seconds_count") == 3
    assert _value(s, "rag_model_duration_seconds_count", provider="extractive", model="extractive-v3") == 2
    route = {"method": "POST", "route": "/v1/ask"}
    assert _value(s, "rag_http_request_duration_seconds_count", **route, status="200") == 3
    assert _value(s, "rag_http_request_duration_seconds_count", **route, status="404") == 1
    # builds and jobs come from the metadata database: the sample's one full build
    assert _value(s, "rag_build_chunks_total", index="policies", kind="embedded") > 100
    assert _value(s, "rag_build_chunks_total", index="policies", kind="reused") == 0
    assert _value(s, "rag_build_duration_seconds_count", index="policies") == 1
    assert _value(s, "rag_jobs", state="queued") == 0


def test_unmatched_paths_share_one_route_label(client: TestClient) -> None:
    for path in ("/nope/1", "/nope/2", "/v1/indexes/policies/versions"):
        client.get(path)
    s = _samples(client)
    assert _value(s, "rag_http_request_duration_seconds_count", method="GET", route="<unmatched>", status="404") == 2
    templ = {"method": "GET", "route": "/v1/indexes/{name}/versions", "status": "200"}
    assert _value(s, "rag_http_request_duration_seconds_count", **templ) == 1


def test_request_id_is_returned_and_a_callers_valid_id_is_kept(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123.x_y"}).headers["x-request-id"] == "abc-123.x_y"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert replaced != "bad id\twith spaces" and re.fullmatch(r"[0-9a-f]{32}", replaced)
    streamed = client.post("/v1/ask", json={"question": "How long must passwords be?", "stream": True})
    assert re.fullmatch(r"[0-9a-f]{32}", streamed.headers["x-request-id"])
    error = client.post("/v1/ask", json={"question": ""}, headers={"X-Request-ID": "err-1"})
    assert error.status_code == 422 and error.headers["x-request-id"] == "err-1"


@pytest.fixture()
def json_logs() -> Iterator[io.StringIO]:
    """JSON logging configured as ``rag serve`` does, captured; the previous root handlers restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO", "json")
    buffer = io.StringIO()
    root.handlers[0].stream = buffer  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_access_log_lines_are_json_with_the_request_id(client: TestClient, json_logs: io.StringIO) -> None:
    client.post("/v1/ask", json={"question": "How long must passwords be?"}, headers={"X-Request-ID": "trace-42"})
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    access = [x for x in lines if x.get("event") == "request" and x.get("request_id") == "trace-42"]
    assert len(access) == 1, lines
    line = access[0]
    assert line["route"] == "/v1/ask" and line["status"] == 200 and line["method"] == "POST"
    assert line["level"] == "info" and line["logger"] == "api.access" and "timestamp" in line
    assert line["duration_ms"] > 0
