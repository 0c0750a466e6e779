"""The authorization matrix: every route x every role x both identities (API key, identity-provider token).

The matrix is checked against ``app.routes``: a route missing from it (one merged from another
branch, say) fails ``test_every_route_is_in_the_matrix`` until it gets an entry. The app trusts a
real OpenID provider on loopback (tests/support/oidc_provider.py), whose users' groups make them
employees, owners or admins; every role is checked with a key and with a user's token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from rag.access.principal import ROLES
from tests.api.conftest import ClientFactory, create_key_headers, services_of
from tests.support.oidc_provider import OidcProvider, running_provider

PUBLIC = "public"
SIGNED = "signed"
"""Authenticated by a signature over the body, not by a key: 401 for every key without one."""
ANY_KEY = "employee"

# (method, path) -> the least role allowed, or PUBLIC. "owner*" means: owners of the path's index.
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/me"): ANY_KEY,
    ("POST", "/v1/ask"): "employee",
    ("GET", "/v1/indexes"): "employee",
    ("GET", "/v1/indexes/{name}/versions"): "employee",
    ("GET", "/v1/indexes/{name}/diff"): "employee",
    ("GET", "/v1/indexes/{name}/history"): "employee",  # actors only for owners and admins
    ("GET", "/v1/indexes/{name}/changes"): "employee",  # documents of the caller's groups only
    ("GET", "/v1/indexes/{name}/documents/{doc_id}/changes"): "employee",
    ("GET", "/v1/indexes/{name}/versions/{version}/answer-diff"): "owner*",  # golden answers quote any document
    ("POST", "/v1/indexes/{name}/promote"): "admin",
    ("POST", "/v1/indexes/{name}/rollback"): "admin",
    ("POST", "/v1/indexes/{name}/canary"): "admin",
    ("DELETE", "/v1/indexes/{name}/canary"): "admin",
    ("GET", "/v1/indexes/{name}/canary"): "admin",  # both arms' figures and the verdict
    ("POST", "/v1/indexes/{name}/retention"): "admin",
    ("POST", "/v1/indexes/{name}/releases"): "admin",
    ("GET", "/v1/indexes/{name}/releases"): "employee",  # names of prompts, models and endpoints, no secrets
    ("GET", "/v1/indexes/{name}/releases/diff"): "employee",
    ("GET", "/v1/indexes/{name}/releases/{number}"): "employee",
    ("POST", "/v1/indexes/{name}/releases/{number}/gate"): "admin",
    ("PUT", "/v1/indexes/{name}/source"): "admin",
    ("GET", "/v1/indexes/{name}/source"): "owner*",
    ("GET", "/v1/indexes/{name}/documents"): "owner*",
    ("PUT", "/v1/indexes/{name}/documents/{doc_id}"): "owner*",
    ("DELETE", "/v1/indexes/{name}/documents/{doc_id}"): "owner*",
    ("POST", "/v1/indexes/{name}/builds"): "owner*",
    ("GET", "/v1/jobs"): "owner",
    ("GET", "/v1/jobs/{job_id}"): "owner",
    ("POST", "/v1/jobs/{job_id}/cancel"): "owner",
    ("POST", "/v1/keys"): "admin",
    ("GET", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/{key_id}"): "admin",
    ("GET", "/v1/audit"): "admin",
    ("POST", "/v1/answers/{answer_id}/feedback"): "employee",
    ("GET", "/v1/answers/{answer_id}"): "admin",  # an answer may quote documents of any group
    ("GET", "/v1/answers/{answer_id}/receipt"): "employee",  # the caller's own answers (admins: any)
    ("GET", "/v1/indexes/{name}/versions/{version}/documents/{doc_id}"): "employee",
    ("GET", "/v1/indexes/{name}/versions/{version}/document"): "employee",  # the same, doc id in the query
    ("POST", "/v1/chat/completions"): "employee",
    ("GET", "/v1/models"): "employee",
    # the pages hold no data (their API calls need a key); /metrics is for Prometheus inside the network
    ("GET", "/"): PUBLIC,
    ("GET", "/admin"): PUBLIC,
    ("GET", "/view"): PUBLIC,
    ("*", "/static"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # web sign-in: how a person gets a session (logout needs the session's CSRF token, not a role)
    ("GET", "/auth/config"): PUBLIC,
    ("GET", "/auth/login"): PUBLIC,
    ("GET", "/auth/callback"): PUBLIC,
    ("POST", "/auth/logout"): PUBLIC,
    ("POST", "/v1/hooks/git"): SIGNED,
    # the Slack app: signed by Slack with the app's signing secret (none configured here: 401 for all)
    ("POST", "/v1/slack/events"): SIGNED,
    ("POST", "/v1/slack/commands"): SIGNED,
    ("POST", "/v1/slack/interactions"): SIGNED,
    # the MCP server (streamable HTTP): the usual credentials; every tool keeps to the caller's groups
    ("POST", "/mcp"): "employee",
}

# Requests that pass authorization but change nothing (bad bodies, unknown ids).
_PARAMS = {
    "name": "policies",
    "doc_id": "no-such-doc.md",
    "job_id": "no-such-job",
    "key_id": "0000000000000000",
    "answer_id": "no-such-answer",
    "version": "1",
    "number": "1",
}
_BODIES: dict[str, Any] = {"POST": {"unexpected": 1}, "PUT": {"unexpected": 1}}


def _route_keys(client: TestClient) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    # Every route of the app and of its included routers; a mount (static files) counts as method "*".
    for route in routing.iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path = route.path
        if path is None:
            continue
        methods = getattr(route.original_route, "methods", None) or {"*"}
        for method in methods:
            if method != "HEAD":
                keys.add((method, path.replace(":path}", "}")))
    return keys


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    if method == "*":  # a mount: fetch one of its files
        return client.get(path + "/app.css", headers=headers).status_code
    url = path.format(**_PARAMS)
    body = _BODIES.get(method)
    if path.endswith("/diff"):
        url += "?from=1&to=1"
    if path.endswith("/changes"):
        url += "?from=1&to=1&since=2026-01-01"
    return client.request(method, url, headers=headers, json=body).status_code


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as p:
        p.set_user("emma", "emma@example.com", ["hr"])
        p.set_user("olga", "olga@example.com", ["hr", "policy-editors"])
        p.set_user("oscar", "oscar@example.com", ["other-editors"])
        p.set_user("ada", "ada@example.com", ["rag-admins"])
        yield p


@pytest.fixture()
def matrix_client(client_factory: ClientFactory, provider: OidcProvider) -> TestClient:
    return client_factory(
        admin_key=False,
        worker_enabled=False,
        rate_limit=None,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client.client_id,
        oidc_admin_groups=["rag-admins"],
        oidc_owner_groups={"policy-editors": ["policies"], "other-editors": ["other-index"]},
    )


def _user(provider: OidcProvider, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {provider.mint(sub)}"}


def test_every_route_is_in_the_matrix(matrix_client: TestClient) -> None:
    routes = _route_keys(matrix_client)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes without an authorization matrix entry: {missing}"
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_matrix(matrix_client: TestClient, provider: OidcProvider) -> None:
    keys = {
        "employee": create_key_headers(matrix_client, "employee", ["hr"]),
        "owner": create_key_headers(matrix_client, "owner", ["hr"], ["policies"]),
        "owner-elsewhere": create_key_headers(matrix_client, "owner", [], ["other-index"]),
        "admin": create_key_headers(matrix_client, "admin"),
        "employee-user": _user(provider, "emma"),
        "owner-user": _user(provider, "olga"),
        "owner-elsewhere-user": _user(provider, "oscar"),
        "admin-user": _user(provider, "ada"),
    }
    expired = {"Authorization": f"Bearer {provider.mint('ada', exp=int(time.time()) - 3600)}"}
    failures: list[str] = []
    for (method, path), needed in sorted(MATRIX.items()):
        if needed == PUBLIC:
            status = _call(matrix_client, method, path, {})
            if status in (401, 403):
                failures.append(f"{method} {path}: public route answered {status}")
            continue
        if needed == SIGNED:
            for headers in ({}, *keys.values()):
                if (status := _call(matrix_client, method, path, headers)) != 401:
                    failures.append(f"{method} {path} unsigned: {status}, expected 401")
            continue
        status = _call(matrix_client, method, path, {})
        if status != 401:
            failures.append(f"{method} {path} without a key: {status}, expected 401")
        bad = _call(matrix_client, method, path, {"Authorization": "Bearer rag_0123456789abcdef_" + "x" * 43})
        if bad != 401:
            failures.append(f"{method} {path} with an unknown key: {bad}, expected 401")
        bad = _call(matrix_client, method, path, expired)
        if bad != 401:
            failures.append(f"{method} {path} with an admin's expired token: {bad}, expected 401")
        for who, headers in keys.items():
            role = who.split("-")[0]
            allowed = ROLES.index(role) >= ROLES.index(needed.rstrip("*"))
            if needed == "owner*" and who.startswith("owner-elsewhere"):
                allowed = False
            status = _call(matrix_client, method, path, headers)
            if allowed and status in (401, 403):
                failures.append(f"{method} {path} as {who}: {status}, expected to be allowed")
            if not allowed and status != 403:
                failures.append(f"{method} {path} as {who}: {status}, expected 403")
    assert not failures, "\n".join(failures)


def test_revoked_key_is_refused_at_once(matrix_client: TestClient) -> None:
    headers = create_key_headers(matrix_client, "employee")
    assert matrix_client.get("/v1/me", headers=headers).status_code == 200
    key_id = matrix_client.get("/v1/me", headers=headers).json()["key_id"]
    services_of(matrix_client).keys.revoke(key_id)
    response = matrix_client.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_denied_change_is_audited(matrix_client: TestClient) -> None:
    headers = create_key_headers(matrix_client, "employee")
    assert matrix_client.post("/v1/indexes/policies/rollback", headers=headers).status_code == 403
    entries = services_of(matrix_client).audit.entries(actor="test-employee")
    assert [(e.action, e.outcome, e.index) for e in entries] == [
        ("POST /v1/indexes/{name}/rollback", "denied", "policies")
    ]


def test_auth_off_makes_every_caller_an_admin(client_factory: ClientFactory) -> None:
    client = client_factory(admin_key=False, auth_enabled=False, worker_enabled=False)
    me = client.get("/v1/me").json()
    assert me["role"] == "admin" and me["groups"] == ["*"] and me["indexes"] == ["*"]
    assert client.get("/v1/keys").status_code == 200
