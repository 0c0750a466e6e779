"""The API with the company's identity provider: a real OpenID provider on loopback signs the tokens.

One app over a copy of the built sample serves the whole module (its provider too), configured as a
deployment would be: groups from the ``groups`` claim, ``HR-Staff`` mapped to ``hr``, ``rag-admins``
admins, ``handbook-editors`` owners of ``policies``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.embedding import Embedder
from rag.answer_log import answers_table
from rag.wiring import Services, build_services
from tests.api.conftest import services_of
from tests.conftest import make_settings
from tests.support.oidc_provider import OidcProvider, running_provider, sign_in

QUESTION = "How many days of annual leave do full-time employees get?"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as p:
        p.set_user("alice", "alice@example.com", ["HR-Staff"])
        p.set_user("olga", "olga@example.com", ["handbook-editors"])
        p.set_user("root", "root@example.com", ["rag-admins"])
        p.set_user("bob", "bob@example.com", [])
        yield p


@pytest.fixture(scope="module")
def client(
    provider: OidcProvider, built_sample: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("oidc") / "data"
    shutil.copytree(built_sample, data)
    settings = make_settings(
        data,
        worker_enabled=False,
        rate_limit=None,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client.client_id,
        oidc_client_secret=provider.client.client_secret,
        oidc_group_map={"HR-Staff": ["hr"]},
        oidc_admin_groups=["rag-admins"],
        oidc_owner_groups={"handbook-editors": ["policies"]},
        oidc_jwks_min_refresh_s=0,
    )
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with TestClient(app) as c:
        yield c
    shutil.rmtree(data, ignore_errors=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _state(services: Services) -> tuple[int, int, int, int | None]:
    """What a refused request must leave as it was: keys, audit rows, answers, the live version."""
    with services.catalog.engine.connect() as conn:
        n_answers = conn.execute(sa.select(sa.func.count()).select_from(answers_table)).scalar_one()
    return (
        len(services.keys.list_keys()),
        len(services.audit.entries(limit=None)),
        int(n_answers),
        services.registry.live_version("policies"),
    )


def test_a_signed_in_user_asks_and_is_audited_by_issuer_and_subject(client: TestClient, provider: OidcProvider) -> None:
    token = sign_in(provider, "alice")["access_token"]
    me = client.get("/v1/me", headers=_bearer(token)).json()
    assert me["kind"] == "user" and me["role"] == "employee"
    assert (me["issuer"], me["subject"], me["email"], me["name"]) == (
        provider.issuer,
        "alice",
        "alice@example.com",
        "alice@example.com",
    )
    assert me["groups"] == ["hr"] and me["key_id"].startswith("oidc:")

    answer = client.post("/v1/ask", json={"question": QUESTION}, headers=_bearer(token))
    assert answer.status_code == 200 and answer.json()["citations"]
    entry = services_of(client).audit.entries(action="ask", actor="alice@example.com")[0]
    assert entry.actor_id == me["key_id"] and entry.target == answer.json()["answer_id"]
    assert entry.details["actor"] == {"issuer": provider.issuer, "subject": "alice", "email": "alice@example.com"}
    # Feedback on the answer is accepted from the user who received it.
    feedback = client.post(
        f"/v1/answers/{answer.json()['answer_id']}/feedback", json={"rating": "up"}, headers=_bearer(token)
    )
    assert feedback.status_code == 201


def test_roles_come_from_provider_groups(client: TestClient, provider: OidcProvider) -> None:
    bob, olga, root = (sign_in(provider, u)["access_token"] for u in ("bob", "olga", "root"))
    assert client.get("/v1/me", headers=_bearer(bob)).json()["groups"] == ["everyone"]  # no group: the default
    assert client.get("/v1/indexes/policies/documents", headers=_bearer(bob)).status_code == 403
    assert client.get("/v1/indexes/policies/documents", headers=_bearer(olga)).status_code == 200
    assert client.get("/v1/indexes/other/documents", headers=_bearer(olga)).status_code == 403
    assert client.get("/v1/keys", headers=_bearer(olga)).status_code == 403
    assert client.get("/v1/keys", headers=_bearer(root)).status_code == 200


def test_a_user_moved_between_groups_has_the_new_rights_from_the_next_token(
    client: TestClient, provider: OidcProvider
) -> None:
    provider.set_user("carol", "carol@example.com", ["Finance"])
    before = sign_in(provider, "carol")["access_token"]
    provider.set_user("carol", "carol@example.com", ["HR-Staff", "rag-admins"])
    try:
        assert client.get("/v1/me", headers=_bearer(before)).json()["role"] == "employee"  # the old token stands
        after = sign_in(provider, "carol")["access_token"]
        me = client.get("/v1/me", headers=_bearer(after)).json()
        assert (me["role"], me["groups"]) == ("admin", ["*"])
        assert client.get("/v1/audit", headers=_bearer(after)).status_code == 200
    finally:
        provider.set_user("carol", "carol@example.com", [])


def test_a_rotated_key_is_picked_up(client: TestClient, provider: OidcProvider) -> None:
    fetches = provider.jwks_fetches
    provider.rotate_key()
    token = sign_in(provider, "bob")["access_token"]
    assert client.get("/v1/me", headers=_bearer(token)).status_code == 200
    assert client.get("/v1/me", headers=_bearer(token)).status_code == 200
    assert provider.jwks_fetches == fetches + 1  # refetched once for the new key id, then cached


@pytest.mark.parametrize(
    "case", ["expired", "other-audience", "tampered", "not-yet-valid", "unknown-key", "opaque", "other-issuer"]
)
def test_bad_tokens_are_401_and_change_nothing(client: TestClient, provider: OidcProvider, case: str) -> None:
    now = int(time.time())
    if case == "expired":
        token = provider.mint("root", exp=now - 3600)
    elif case == "other-audience":
        token = provider.mint("root", aud="another-app")
    elif case == "not-yet-valid":
        token = provider.mint("root", nbf=now + 3600)
    elif case == "other-issuer":
        token = provider.mint("root", iss="https://idp.elsewhere.example")
    elif case == "tampered":
        header, payload, signature = provider.mint("root").split(".")
        token = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    elif case == "unknown-key":
        from joserfc.jwk import RSAKey

        token = provider.mint("root", key=RSAKey.generate_key(2048, parameters={"kid": "stolen"}))
    else:
        token = "2YotnFZFEjr1zCsicMWpAA"
    services = services_of(client)
    before = _state(services)
    calls = [
        client.post("/v1/keys", json={"name": "sneaky", "role": "admin"}, headers=_bearer(token)),
        client.post("/v1/indexes/policies/rollback", headers=_bearer(token)),
        client.post("/v1/ask", json={"question": QUESTION}, headers=_bearer(token)),
        client.get("/v1/me", headers=_bearer(token)),
    ]
    for response in calls:
        assert response.status_code == 401, response.text
        expected = "unauthorized" if case == "opaque" else "invalid_token"
        assert response.json()["error"]["code"] == expected
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert _state(services) == before
    if case == "opaque":
        assert "opaque token refused" in calls[0].json()["error"]["message"]


def _web_sign_in(client: TestClient, provider: OidcProvider, username: str) -> tuple[str, str]:
    """Sign in through /auth/login and the provider's form as a browser would; (set-cookie header, csrf token)."""
    callback = "http://testserver/auth/callback"
    if callback not in provider.client.redirect_uris:
        provider.client.redirect_uris.append(callback)
    to_provider = client.get("/auth/login", follow_redirects=False)
    assert to_provider.status_code == 302
    url = to_provider.headers["location"]
    assert url.startswith(f"{provider.issuer}/authorize?") and "code_challenge_method=S256" in url
    back = httpx.post(url, data={"username": username})
    assert back.status_code == 302 and back.headers["location"].startswith(callback)
    landed = client.get(back.headers["location"].removeprefix("http://testserver"), follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/"
    # The cookie is Secure (the default) and the test client speaks http: hand it over as a browser on https would.
    client.cookies.set("rag_session", landed.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    me = client.get("/v1/me").json()
    return landed.headers["set-cookie"], me["csrf_token"]


def test_web_sign_in_gives_an_httponly_session_and_needs_csrf_for_changes(
    client: TestClient, provider: OidcProvider
) -> None:
    cookie, csrf = _web_sign_in(client, provider, "alice")
    try:
        parts = [p.strip().lower() for p in cookie.split(";")]
        assert parts[0].startswith("rag_session=") and "httponly" in parts and "secure" in parts
        assert "samesite=lax" in parts
        me = client.get("/v1/me").json()
        assert (me["kind"], me["email"]) == ("user", "alice@example.com") and csrf

        answer = client.post("/v1/ask", json={"question": QUESTION})  # a state-changing call without the token
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "csrf_failed"
        answer = client.post("/v1/ask", json={"question": QUESTION}, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200
        forged = client.post("/v1/ask", json={"question": QUESTION}, headers={"X-CSRF-Token": csrf[:-1] + "x"})
        assert forged.status_code == 403

        assert client.post("/auth/logout").status_code == 403  # logging out is a change too
        assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.set("rag_session", cookie.split(";")[0].split("=", 1)[1])  # the old cookie, replayed
        gone = client.get("/v1/me")
        assert gone.status_code == 401  # the session ended on the server, not only in the browser
    finally:
        client.cookies.clear()


def test_a_sign_in_state_works_once(client: TestClient, provider: OidcProvider) -> None:
    callback = "http://testserver/auth/callback"
    if callback not in provider.client.redirect_uris:
        provider.client.redirect_uris.append(callback)
    url = client.get("/auth/login", follow_redirects=False).headers["location"]
    back = httpx.post(url, data={"username": "bob"}).headers["location"].removeprefix("http://testserver")
    assert client.get(back, follow_redirects=False).status_code == 303
    client.cookies.clear()
    replay = client.get(back, follow_redirects=False)
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "sign_in_failed"
    made_up = client.get("/auth/callback", params={"state": "x" * 40, "code": "y"}, follow_redirects=False)
    assert made_up.status_code == 400 and "set-cookie" not in made_up.headers
