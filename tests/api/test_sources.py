"""Source bindings over HTTP (folder, git, s3; secrets by name only) and the Git push webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from git import Repo

from tests.api.conftest import ClientFactory, services_of
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR
from tests.ingest.test_sources_git import commit

BASE = "/v1/indexes/policies"
TOKEN = "ghp_DO-NOT-LEAK-4b1d"
HOOK_SECRET = "hook-secret-9e2c"
REPO = "https://git.example.org/hr/handbook.git"


@pytest.fixture()
def client(client_factory: ClientFactory) -> TestClient:
    return client_factory(
        worker_enabled=False, source_secrets={"handbook-token": TOKEN}, webhook_secret=HOOK_SECRET, rate_limit=None
    )


def _push(
    repo: str = "https://git.example.org/hr/handbook", ref: str = "refs/heads/main", after: str = "a" * 40
) -> bytes:
    return json.dumps(
        {"ref": ref, "after": after, "repository": {"clone_url": repo + ".git", "html_url": repo}}
    ).encode()


def _signed(body: bytes, secret: str = HOOK_SECRET, event: str = "push") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": event, "Content-Type": "application/json"}


def _hook(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    # the webhook needs no API key: send none
    return client.post("/v1/hooks/git", content=body, headers={**headers, "Authorization": ""})


def test_bindings_of_each_kind_show_secret_names_never_values(client: TestClient) -> None:
    git = {"kind": "git", "url": REPO, "path": "pages", "token_secret": "handbook-token", "every": "15m"}
    r = client.put(f"{BASE}/source", json=git)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "git" and body["every"] == "15m" and body["folder"] is None
    assert body["spec"]["token_secret"] == "handbook-token" and body["spec"]["branch"] == "main"
    assert body["next_check_at"] is not None  # the first check is due at once
    shown = client.get(f"{BASE}/source").text + client.get("/v1/audit").text
    assert "handbook-token" in shown and TOKEN not in shown
    with services_of(client).catalog.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT spec FROM source_bindings")).scalars().all()
    assert stored and all(TOKEN not in row for row in stored)

    r = client.put(f"{BASE}/source", json={"kind": "s3", "bucket": "hr-policies", "prefix": "handbook/"})
    assert r.status_code == 200 and r.json()["spec"]["bucket"] == "hr-policies"
    wiki = {"kind": "confluence", "base_url": "https://x.atlassian.net", "space": "HR", "label_groups": {"hr": ["hr"]}}
    r = client.put(f"{BASE}/source", json=wiki)
    assert r.status_code == 200 and r.json()["spec"]["label_groups"] == {"hr": ["hr"]}
    legacy = client.put(f"{BASE}/source", json={"folder": str(SAMPLE_DIR)})
    assert legacy.status_code == 200 and legacy.json()["kind"] == "folder"
    assert legacy.json()["folder"] == str(SAMPLE_DIR.resolve())


BAD_BINDINGS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "git", "url": REPO, "token_secret": "no-such-secret"}, "source_error"),
    ({"kind": "git", "url": "https://me:pw@git.example.org/r.git"}, "validation_error"),
    ({"kind": "git", "url": "--upload-pack=touch x"}, "validation_error"),
    ({"kind": "git", "url": "ext::sh -c touch% x"}, "validation_error"),
    ({"kind": "git", "url": REPO, "every": "5s"}, "validation_error"),
    ({"kind": "git", "url": REPO, "path": "../outside"}, "validation_error"),
    ({"kind": "git", "url": REPO, "branch": "main\u0000"}, "validation_error"),
    ({"kind": "ftp", "url": REPO}, "validation_error"),
    ({"kind": "s3", "bucket": "Bad_Bucket"}, "validation_error"),
    ({"kind": "confluence", "base_url": "ftp://x", "space": "HR"}, "validation_error"),
    ({"kind": "folder", "folder": "/no/such/folder"}, "source_error"),
    ({"kind": "git", "url": REPO, "promote": "canary", "canary_share": 0}, "validation_error"),
    ({"kind": "git", "url": REPO, "promote": "canary", "canary_share": 1.5}, "validation_error"),
    ({"kind": "git", "url": REPO, "promote": "sometimes"}, "validation_error"),
]


def test_bad_bindings_are_refused_and_change_nothing(client: TestClient) -> None:
    assert client.put(f"{BASE}/source", json={"folder": str(SAMPLE_DIR)}).status_code == 200
    before = client.get(f"{BASE}/source").json()
    for body, code in BAD_BINDINGS:
        r = client.put(f"{BASE}/source", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (body, r.text)
    assert client.get(f"{BASE}/source").json() == before


def test_webhook_signatures_are_checked_before_anything_else(client: TestClient) -> None:
    client.put(f"{BASE}/source", json={"kind": "git", "url": REPO})
    body = _push()
    for headers in (
        {},
        {"X-GitHub-Event": "push"},
        _signed(body, secret="wrong-secret"),
        {"X-Hub-Signature-256": "sha256=zz", "X-GitHub-Event": "push"},
        {"X-Gitlab-Token": "wrong", "X-Gitlab-Event": "Push Hook"},
    ):
        r = _hook(client, body, headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", headers
    tampered = _signed(body)
    assert _hook(client, body.replace(b"main", b"mainx"), tampered).status_code == 401
    jobs = services_of(client).jobs
    assert jobs is not None and jobs.store.queued_for("policies") == []


def test_unknown_repositories_branches_and_pings_queue_nothing(client: TestClient) -> None:
    client.put(f"{BASE}/source", json={"kind": "git", "url": REPO})
    for body, event in (
        (_push(repo="https://git.example.org/other/repo"), "push"),
        (_push(ref="refs/heads/release"), "push"),
        (_push(ref="refs/tags/v1"), "push"),
        (_push(), "ping"),
    ):
        r = _hook(client, body, _signed(body, event=event))
        assert r.status_code == 202 and r.json() == {"jobs": []}
    jobs = services_of(client).jobs
    assert jobs is not None and jobs.store.queued_for("policies") == []
    junk = b"not json"
    assert _hook(client, junk, _signed(junk)).status_code == 422


def test_a_burst_of_pushes_coalesces_into_one_build(client: TestClient) -> None:
    client.put(f"{BASE}/source", json={"kind": "git", "url": "git@git.example.org:hr/handbook.git", "promote": "never"})
    ids = set()
    for n in range(4):
        body = _push(after=f"{n:040d}")
        r = _hook(client, body, _signed(body))
        assert r.status_code == 202
        ids.update(r.json()["jobs"])
    gitlab = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": "f" * 40,
            "project": {"git_http_url": "https://GIT.example.org/hr/handbook.git", "web_url": "x"},
        }
    ).encode()
    r = _hook(client, gitlab, {"X-Gitlab-Token": HOOK_SECRET, "X-Gitlab-Event": "Push Hook"})
    assert r.status_code == 202
    ids.update(r.json()["jobs"])
    jobs = services_of(client).jobs
    assert jobs is not None
    queued = jobs.store.queued_for("policies")
    assert len(ids) == 1 and [j.job_id for j in queued] == list(ids)
    assert queued[0].trigger == "webhook:github push " + "0" * 12 and queued[0].promote == "never"
    audit = client.get("/v1/audit", params={"action": "build.request"}).json()
    assert len([a for a in audit if a["actor_name"] == "webhook:git"]) == 5


def test_without_a_webhook_secret_every_push_is_refused(client_factory: ClientFactory) -> None:
    client = client_factory(worker_enabled=False, rate_limit=None)
    body = _push()
    assert _hook(client, body, _signed(body)).status_code == 401


def test_a_push_to_a_canary_bound_repository_makes_the_new_version_the_canary(
    client_factory: ClientFactory, tmp_path: Path
) -> None:
    questions = [json.loads(line) for line in (GOLDEN_DIR / "golden.jsonl").read_text().splitlines() if line.strip()]
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps(q) + "\n" for q in questions[:4]))  # a small gate keeps the test quick
    client = client_factory(worker_enabled=False, webhook_secret=HOOK_SECRET, golden_set=golden, rate_limit=None)
    repo = Repo.init(tmp_path / "handbook", initial_branch="main")
    files = {p.relative_to(SAMPLE_DIR).as_posix(): p.read_bytes() for p in SAMPLE_DIR.rglob("*") if p.is_file()}
    head = commit(
        repo, {**files, "people/sabbatical.md": "# Sabbatical\n\nAfter seven years, three months off.\n"}, "import"
    )
    url = str(repo.working_tree_dir)
    binding = {"kind": "git", "url": url, "promote": "canary", "canary_share": 0.2}
    assert client.put(f"{BASE}/source", json=binding).status_code == 200

    body = _push(repo=url, after=head)
    r = _hook(client, body, _signed(body))
    assert r.status_code == 202 and len(r.json()["jobs"]) == 1
    jobs = services_of(client).jobs
    assert jobs is not None
    job_id = r.json()["jobs"][0]
    jobs.runner(job_id)  # as the worker would
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["promote"] == "canary", job
    assert job["result"]["promoted"] is False and job["result"]["gate"]["passed"] is True
    assert job["result"]["promotion"].startswith("canary v2 answers 0.2 of questions")
    index = next(i for i in client.get("/v1/indexes").json() if i["name"] == "policies")
    assert (index["live_version"], index["canary_version"], index["canary_share"]) == (1, 2, 0.2)
    versions = {v["version"]: v for v in client.get(f"{BASE}/versions").json()}
    assert versions[1]["live"] is True and versions[2]["live"] is False and versions[2]["state"] == "ready"
    sources = {d["source"] for d in versions[2]["manifest"]["documents"]}
    assert "people/sabbatical.md" in sources and versions[2]["manifest"]["source_revision"] == head
