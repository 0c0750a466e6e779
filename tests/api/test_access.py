"""Access over HTTP: /v1/me, keys, listings cut to the caller's groups, the audit log, rate limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.access.audit import question_digest
from tests.api.conftest import ClientFactory, KeyHeaders, create_key_headers, services_of

HR_DOC = "---\naccess_groups: [hr]\n---\n# Salary review\n\nThe quillfeather bonus pool is 4 percent of payroll.\n"
OPEN_DOC = "# Canteen\n\nThe canteen serves lunch from noon until two in the afternoon.\n"


@pytest.fixture()
def acl_client(client: TestClient, tmp_path: Path) -> TestClient:
    """The app with an index ``acl``: ``open.md`` (everyone) and ``pay.md`` (hr only), built and live."""
    src = tmp_path / "acl-src"
    src.mkdir()
    (src / "open.md").write_text(OPEN_DOC)
    (src / "pay.md").write_text(HR_DOC)
    services = services_of(client)
    services.documents.set_source("acl", src)
    services.builder.build("acl", src, promote=True)
    (src / "pay.md").write_text(HR_DOC.replace("4 percent", "5 percent"))
    services.builder.build("acl", src, promote=True)
    return client


def test_me_describes_the_caller(client: TestClient, key_headers: KeyHeaders) -> None:
    headers = key_headers("owner", groups=["HR", "finance"], indexes=["acl"])
    me = client.get("/v1/me", headers=headers).json()
    assert me["role"] == "owner" and me["groups"] == ["finance", "hr"] and me["indexes"] == ["acl"]
    assert me["name"] == "test-owner" and len(me["key_id"]) == 16
    assert client.get("/v1/me", headers={"Authorization": ""}).status_code == 401


def test_keys_api_creates_lists_and_revokes(client: TestClient) -> None:
    created = client.post("/v1/keys", json={"name": "payroll bot", "role": "employee", "groups": ["hr"]})
    assert created.status_code == 201
    body = created.json()
    secret = body["secret"]
    assert secret.startswith(f"rag_{body['key_id']}_")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["groups"] == ["hr"]
    listed = client.get("/v1/keys").json()
    assert {k["name"] for k in listed} >= {"payroll bot", "test-admin"}
    assert secret not in client.get("/v1/keys").text and all("secret" not in k for k in listed)
    revoked = client.delete(f"/v1/keys/{body['key_id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.delete("/v1/keys/ffffffffffffffff").json()["error"]["code"] == "key_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "root"},
        {"name": "", "role": "employee"},
        {"name": "x", "role": "employee", "indexes": ["policies"]},
        {"name": "x", "role": "owner", "indexes": ["*"]},
        {"name": "x", "role": "employee", "groups": ["Bad Group"]},
        {"name": "x", "role": "employee", "groups": "hr"},
    ],
)
def test_bad_keys_are_422_and_nothing_is_stored(client: TestClient, body: dict[str, object]) -> None:
    before = len(services_of(client).keys.list_keys())
    response = client.post("/v1/keys", json=body)
    assert response.status_code == 422, response.text
    assert len(services_of(client).keys.list_keys()) == before


def test_answers_only_cite_the_callers_groups(acl_client: TestClient, key_headers: KeyHeaders) -> None:
    question = {"question": "How big is the quillfeather bonus pool?", "index": "acl"}
    hr = acl_client.post("/v1/ask", json=question, headers=key_headers("employee", groups=["hr"])).json()
    assert [c["doc_id"] for c in hr["citations"]][:1] == ["pay.md"] and "5 percent" in hr["answer"]
    other = acl_client.post("/v1/ask", json=question, headers=key_headers("employee")).json()
    assert all(c["doc_id"] == "open.md" for c in other["citations"])
    assert "quillfeather" not in other["answer"] and "percent" not in other["answer"]


def test_versions_and_diffs_hide_other_groups(acl_client: TestClient, key_headers: KeyHeaders) -> None:
    employee = key_headers("employee")
    versions = acl_client.get("/v1/indexes/acl/versions", headers=employee).json()
    assert [v["version"] for v in versions] == [2, 1]
    for v in versions:
        assert [d["doc_id"] for d in v["manifest"]["documents"]] == ["open.md"]
        assert v["document_count"] == 1 and v["chunk_count"] == v["manifest"]["documents"][0]["chunk_count"]
        assert "errors" not in v["manifest"] and "chunks_embedded" not in v["manifest"]
    admin_view = acl_client.get("/v1/indexes/acl/versions").json()
    assert admin_view[0]["document_count"] == 2
    diff = acl_client.get("/v1/indexes/acl/diff?from=1&to=2", headers=employee).json()
    assert diff["changed"] == [] and diff["unchanged"] == 1
    assert diff["from_chunks"] == diff["to_chunks"] == versions[0]["chunk_count"]
    hr_diff = acl_client.get("/v1/indexes/acl/diff?from=1&to=2", headers=key_headers("employee", groups=["hr"]))
    assert [c["doc_id"] for c in hr_diff.json()["changed"]] == ["pay.md"]


def test_document_routes_hide_other_groups(acl_client: TestClient, key_headers: KeyHeaders) -> None:
    owner = key_headers("owner", indexes=["acl"])
    listing = acl_client.get("/v1/indexes/acl/documents", headers=owner).json()
    assert [(d["doc_id"], d["access_groups"]) for d in listing["documents"]] == [("open.md", ["everyone"])]
    # Deleting a document the owner cannot see answers as if it did not exist, and changes nothing.
    gone = acl_client.delete("/v1/indexes/acl/documents/pay.md", headers=owner)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "document_not_found"
    assert "pay.md" not in services_of(acl_client).documents.tombstones("acl")
    # The same for a document only in the source folder, not built yet.
    source = services_of(acl_client).documents.get_source("acl")
    assert source is not None
    (source.folder / "board.md").write_text("---\naccess_groups: [board]\n---\n# Board\n\nBoard minutes.\n")
    assert acl_client.delete("/v1/indexes/acl/documents/board.md", headers=owner).status_code == 404
    listed_now = acl_client.get("/v1/indexes/acl/documents", headers=owner).json()["documents"]
    assert "board.md" not in [d["doc_id"] for d in listed_now]
    assert acl_client.get("/v1/indexes/acl/documents").json()["documents"][0]["doc_id"] == "board.md"
    # An owner may not hand a document to a group it is not in.
    upload = acl_client.put(
        "/v1/indexes/acl/documents/secret.md",
        files={"file": ("secret.md", b"# Secret\n\nThe board meets monthly.\n", "text/markdown")},
        data={"owner": "o", "metadata": '{"access_groups": ["board"]}'},
        headers=owner,
    )
    assert upload.status_code == 403
    ok = acl_client.put(
        "/v1/indexes/acl/documents/menu.md",
        files={"file": ("menu.md", b"# Menu\n\nSoup on Mondays.\n", "text/markdown")},
        data={"owner": "o", "metadata": '{"access_groups": "everyone"}'},
        headers=owner,
    )
    assert ok.status_code == 201 and ok.json()["access_groups"] == ["everyone"]
    bad = acl_client.put(
        "/v1/indexes/acl/documents/x.md",
        files={"file": ("x.md", b"# X\n\nText.\n", "text/markdown")},
        data={"owner": "o", "metadata": '{"access_groups": []}'},
    )
    assert bad.status_code == 422 and "access_groups" in bad.json()["error"]["message"]
    hr_owner = key_headers("owner", groups=["hr"], indexes=["acl"])
    listed = [d["doc_id"] for d in acl_client.get("/v1/indexes/acl/documents", headers=hr_owner).json()["documents"]]
    assert listed == ["menu.md", "open.md", "pay.md"]  # not board.md: hr is not board


def test_job_results_hide_other_groups(acl_client: TestClient, key_headers: KeyHeaders) -> None:
    owner = key_headers("owner", indexes=["acl"])
    accepted = acl_client.post("/v1/indexes/acl/builds", json={"promote": "never"}, headers=owner)
    assert accepted.status_code == 202
    url = accepted.json()["url"]
    deadline = time.monotonic() + 120
    while (job := acl_client.get(url, headers=owner).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    assert job["result"]["documents"] == 1 and "errors" not in job["result"] and "skipped" not in job["result"]
    assert set(job["progress"]) <= {"stage"}
    assert acl_client.get(url).json()["result"]["documents"] == 2  # the admin sees everything
    elsewhere = key_headers("owner", indexes=["policies"])
    assert acl_client.get(url, headers=elsewhere).status_code == 403
    assert all(j["index"] == "policies" for j in acl_client.get("/v1/jobs", headers=elsewhere).json())
    # Who asked for the build and how it ended are both in the audit log.
    audit = services_of(acl_client).audit
    deadline = time.monotonic() + 10
    while not audit.entries(action="build.finish", index="acl") and time.monotonic() < deadline:
        time.sleep(0.1)
    (requested,) = audit.entries(action="build.request", index="acl")
    (finished,) = audit.entries(action="build.finish", index="acl")
    assert requested.actor_name == "test-owner" and requested.target == job["job_id"]
    assert finished.outcome == "ok" and finished.target == job["job_id"] and finished.actor_id == "worker"
    assert finished.details["version"] == job["result"]["version"]
    # Owners build from the configured sources only; another folder is for admins.
    other = acl_client.post("/v1/indexes/acl/builds", json={"source": "/"}, headers=owner)
    assert other.status_code == 403


def test_state_changes_and_questions_are_audited(client: TestClient, key_headers: KeyHeaders) -> None:
    again = client.post("/v1/indexes/policies/promote", json={"version": 1})  # v1 is live already
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_live"
    assert client.post("/v1/indexes/policies/promote", json={"version": 99}).status_code == 404
    employee = key_headers("employee")
    assert client.post("/v1/ask", json={"question": "How many vacation days?"}, headers=employee).status_code == 200
    entries = client.get("/v1/audit", params={"action": "promote"}).json()
    assert [(e["outcome"], e["target"], e["actor_name"]) for e in entries] == [
        ("version_not_found", "v99", "test-admin"),
        ("already_live", "v1", "test-admin"),
    ]
    asked = client.get("/v1/audit", params={"actor": "test-employee"}).json()
    assert [(e["action"], e["details"]["question"], e["index"]) for e in asked] == [
        ("ask", "How many vacation days?", "policies")
    ]
    assert asked[0]["details"]["version"] == 1 and asked[0]["target"]
    assert client.get("/v1/audit", params={"since": "2999-01-01T00:00:00Z"}).json() == []
    assert len(client.get("/v1/audit", params={"limit": 1}).json()) == 1
    assert client.get("/v1/audit", params={"since": "yesterday"}).status_code == 422
    assert client.get("/v1/audit", headers=employee).status_code == 403


def test_questions_can_be_audited_as_hashes_only(client_factory: ClientFactory) -> None:
    client = client_factory(audit_questions="hash")
    assert client.post("/v1/ask", json={"question": "Is there a dress code?"}).status_code == 200
    (entry,) = client.get("/v1/audit", params={"action": "ask"}).json()
    assert entry["details"]["question"] == question_digest("Is there a dress code?")
    assert "dress" not in str(entry)


def test_rate_limit_per_key_answers_429_with_retry_after(client_factory: ClientFactory) -> None:
    client = client_factory(admin_key=False, rate_limit="3/minute", worker_enabled=False)
    first, second = create_key_headers(client, "employee"), create_key_headers(client, "employee")
    assert [client.get("/v1/me", headers=first).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/v1/me", headers=first)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/v1/me", headers=second).status_code == 200  # per key, not global


@pytest.mark.parametrize(
    ("content", "body"),
    [
        ("application/json", b'{"question": '),
        ("application/json", b'{"question": 42}'),
        ("application/json", b'{"question": "ok", "top_k": "many"}'),
        ("application/json", b"[]"),
        ("text/plain", b"hello"),
    ],
)
def test_malformed_requests_are_422(client: TestClient, content: str, body: bytes) -> None:
    response = client.post("/v1/ask", content=body, headers={"content-type": content})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("validation_error", "question_missing")


def test_rate_limits_can_be_shared_through_redis() -> None:
    """Two API replicas with the same Redis storage count one key's requests together."""
    import uuid

    import redis

    from api.auth import KeyRateLimiter
    from rag.access.errors import RateLimited

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"no Redis reachable at {url}: {exc}")
    key = uuid.uuid4().hex
    first, second = KeyRateLimiter("3/minute", url), KeyRateLimiter("3/minute", url)
    first.hit(key)
    second.hit(key)
    first.hit(key)
    with pytest.raises(RateLimited) as info:
        second.hit(key)
    assert 1 <= int(info.value.headers["Retry-After"]) <= 60


def test_streams_chat_and_document_text_keep_to_the_callers_groups(
    acl_client: TestClient, key_headers: KeyHeaders
) -> None:
    outsider = key_headers("employee", groups=["sales"])
    insider = key_headers("employee", groups=["hr"])
    question = "How large is the quillfeather bonus pool?"
    # the OpenAI-compatible endpoint searches only the caller's groups
    chat = {"model": "acl", "messages": [{"role": "user", "content": question}]}
    closed = acl_client.post("/v1/chat/completions", json=chat, headers=outsider).json()
    assert "quillfeather" not in str(closed) and all(
        c["doc_id"] != "pay.md" for c in closed["choices"][0]["message"]["citations"]
    )
    opened = acl_client.post("/v1/chat/completions", json=chat, headers=insider).json()
    assert "quillfeather" in opened["choices"][0]["message"]["content"]
    # so does the streamed /v1/ask
    streamed = acl_client.post("/v1/ask", json={"question": question, "index": "acl", "stream": True}, headers=outsider)
    assert streamed.status_code == 200 and "percent" not in streamed.text and "pay.md" not in streamed.text
    # a document outside the caller's groups is as unknown as a missing one
    version = acl_client.get("/v1/indexes", headers=insider).json()
    live = next(i["live_version"] for i in version if i["name"] == "acl")
    url = f"/v1/indexes/acl/versions/{live}/documents/pay.md"
    assert acl_client.get(url, headers=insider).status_code == 200
    hidden = acl_client.get(url, headers=outsider)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "document_not_found"
