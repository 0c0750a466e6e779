"""Every route of the app, walked with hostile values (issue 10, item 9): whatever a caller sends,
the answer is never a 500, and every error is JSON in the documented ``{"error": {code, message}}``
shape. An unexpected exception in a route is a JSON 500 too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.faults import edge_apps
from tests.faults.edge_apps import EdgeClients
from tests.indexes import test_catalog_postgres

edge_clients, pg_edge, pg_url = edge_apps.edge_clients, edge_apps.pg_edge, test_catalog_postgres.pg_url  # fixtures

HUGE = 99999999999999999999
# Path and query values, as they appear in a URL (already percent-encoded where needed).
URL_VALUES = [
    str(HUGE),
    "-1",
    "0",
    "%00",
    "a%00b",
    "%2e%2e",
    "%2e",
    "%C3%28",  # not UTF-8
    "%EF%BF%BF",
    "x" * 3000,
    "NaN",
    "1e400",
    "%27%20OR%201%3D1%20--",
    "%0d%0aSet-Cookie:%20x=1",
]
# JSON values for every field of a request body.
BODY_VALUES: list[Any] = [
    HUGE,
    -HUGE,
    str(HUGE),
    "1",
    "true",
    "\x00",
    "a\x00b",
    "\ud800",
    "x" * 5000,
    [],
    {},
    None,
    1.5,
]
PARAM = re.compile(r"{([^}:]+)(?::path)?}")


def _urls(path: str) -> Iterator[str]:
    names = PARAM.findall(path)
    if not names:
        yield path
        return
    for value in URL_VALUES:
        for hostile in names:  # one parameter hostile at a time, the others plausible
            yield PARAM.sub(lambda m, h=hostile, v=value: v if m.group(1) == h else "policies", path)  # type: ignore[misc]


def _body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The top-level fields of an operation's JSON body (none for other bodies)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref") or next((s["$ref"] for s in schema.get("anyOf", []) if "$ref" in s), None)
    if ref is None:
        return []
    return list(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("properties", {}))


def _bodies(fields: list[str]) -> Iterator[bytes]:
    yield b"NaN"
    yield b'{"version": NaN, "share": Infinity}'
    yield b"\xff\xfe"
    for value in BODY_VALUES:
        yield json.dumps({f: value for f in fields} or {"x": value}).encode("utf-8", "surrogatepass")


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), what
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), what


def test_every_route_answers_hostile_values_without_a_500_on_sqlite(edge_clients: EdgeClients) -> None:
    _walk(edge_clients(worker_enabled=False, rate_limit=None))


def test_every_route_answers_hostile_values_without_a_500_on_postgres(pg_edge: TestClient) -> None:
    _walk(pg_edge)


def _walk(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert len(spec["paths"]) >= 25
    requests = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for url in _urls(path):
                for query in ("", "?from=1&to=99999999999999999999&limit=99999999999999999999&since=%00&index=%00"):
                    _check(client.request(method, url + query), f"{method} {url}{query}")
                    requests += 1
            if method in ("post", "put"):
                url = next(iter(_urls(path)))
                for body in _bodies(_body_fields(spec, operation)):
                    response = client.request(method, url, content=body, headers={"content-type": "application/json"})
                    _check(response, f"{method} {url} {body[:80]!r}")
                    requests += 1
    assert requests > 500


def test_an_unexpected_exception_is_a_json_500(edge_clients: EdgeClients) -> None:
    client = edge_clients(worker_enabled=False)

    def boom() -> None:
        raise RuntimeError("a bug with a secret inside: hunter2")

    client.app.router.add_api_route("/v1/boom", boom)  # type: ignore[attr-defined]
    r = client.get("/v1/boom")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "internal_error" and "hunter2" not in r.text


@pytest.mark.parametrize("header", ["Basic", "Bearer", "Token abc", "Bearer a\tb"])
def test_odd_authorization_headers_are_json_401s(edge_clients: EdgeClients, header: str) -> None:
    client = edge_clients(worker_enabled=False)
    r = client.get("/v1/me", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
