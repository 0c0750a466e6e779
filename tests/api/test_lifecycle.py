"""Version lifecycle routes over the real app: diff, canary, retention."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexes.canary import CANARY_ACTION, CANARY_REMOVED_ACTION
from rag.wiring import Services
from tests.api.conftest import ClientFactory
from tests.conftest import SAMPLE_DIR

BASE = "/v1/indexes/policies"
QUESTION = {"question": "How many days of annual leave do I get?"}

NEW_DOC = """---
title: Bicycle Allowance
doc_id: NW-PEO-099
---

# Bicycle Allowance

Employees who cycle to the office receive a bicycle allowance of 30 euros per month.
"""


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def _error(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.json()["error"]["code"] == code  # type: ignore[attr-defined]


def _changed_copy(tmp_path: Path) -> Path:
    """The sample handbook with one document edited, one removed and one added."""
    src = tmp_path / "handbook-v2"
    shutil.copytree(SAMPLE_DIR, src)
    leave = src / "people" / "annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "30 working days"))
    (src / "people" / "remote-work.md").unlink()
    (src / "people" / "bicycle.md").write_text(NEW_DOC)
    return src


def _answering_version(client: TestClient, index: str | None = None) -> tuple[str | None, int]:
    body = {**QUESTION, "index": index} if index else QUESTION
    r = client.post("/v1/ask", json=body)
    assert r.status_code == 200, r.text
    return r.json()["index"]["alias"], r.json()["index"]["version"]


# --- diff ------------------------------------------------------------------------------------


def test_diff_lists_added_changed_and_removed_documents(client: TestClient, tmp_path: Path) -> None:
    services = _services(client)
    services.builder.build("policies", _changed_copy(tmp_path))  # v2

    r = client.get(f"{BASE}/diff", params={"from": 1, "to": 2})
    assert r.status_code == 200, r.text
    d = r.json()
    v1 = {doc.doc_id: doc for doc in services.catalog.get_version("policies", 1).manifest.documents}  # type: ignore[union-attr]
    v2 = {doc.doc_id: doc for doc in services.catalog.get_version("policies", 2).manifest.documents}  # type: ignore[union-attr]
    assert (d["index"], d["from_version"], d["to_version"]) == ("policies", 1, 2)
    assert d["added"] == [
        {
            "doc_id": "NW-PEO-099",
            "title": "Bicycle Allowance",
            "from_chunks": None,
            "to_chunks": v2["NW-PEO-099"].chunk_count,
            "from_hash": None,
            "to_hash": v2["NW-PEO-099"].content_hash,
        }
    ]
    assert [c["doc_id"] for c in d["changed"]] == ["NW-PEO-001"]
    changed = d["changed"][0]
    assert changed["from_hash"] == v1["NW-PEO-001"].content_hash != changed["to_hash"]
    assert changed["to_chunks"] == v2["NW-PEO-001"].chunk_count
    assert [(c["doc_id"], c["from_chunks"], c["to_chunks"]) for c in d["removed"]] == [
        ("NW-PEO-004", v1["NW-PEO-004"].chunk_count, None)
    ]
    assert d["unchanged"] == len(v1) - 2
    assert (d["from_chunks"], d["to_chunks"]) == (
        services.catalog.get_version("policies", 1).manifest.chunk_count,  # type: ignore[union-attr]
        services.catalog.get_version("policies", 2).manifest.chunk_count,  # type: ignore[union-attr]
    )

    back = client.get(f"{BASE}/diff?from=2&to=1").json()
    assert [c["doc_id"] for c in back["removed"]] == ["NW-PEO-099"]
    assert [c["doc_id"] for c in back["added"]] == ["NW-PEO-004"]


def test_diff_errors(client: TestClient) -> None:
    _error(client.get("/v1/indexes/other/diff?from=1&to=1"), 404, "index_not_found")
    _error(client.get(f"{BASE}/diff?from=1&to=7"), 404, "version_not_found")
    _error(client.get(f"{BASE}/diff?from=1"), 422, "validation_error")
    _error(client.get(f"{BASE}/diff?from=0&to=1"), 422, "validation_error")
    _error(client.get(f"{BASE}/diff?from=one&to=1"), 422, "validation_error")
    assert client.get(f"{BASE}/diff?from=1&to=1").json()["changed"] == []


# --- canary ----------------------------------------------------------------------------------


def test_canary_answers_its_share_and_says_so(client: TestClient, tmp_path: Path) -> None:
    services = _services(client)
    services.builder.build("policies", _changed_copy(tmp_path))  # v2

    r = client.post(f"{BASE}/canary", json={"version": 2, "share": 1.0})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "index": "policies",
        "alias": "policies:canary",
        "version": 2,
        "share": 1.0,
        "release": 2,  # the live release with v2 swapped in
    }
    [summary] = client.get("/v1/indexes").json()
    assert (summary["live_version"], summary["canary_version"], summary["canary_share"]) == (1, 2, 1.0)

    assert _answering_version(client) == ("policies:canary", 2)
    assert _answering_version(client, "policies") == ("policies:canary", 2)
    assert _answering_version(client, "policies@1") == (None, 1)  # a pinned version is never redirected

    client.post(f"{BASE}/canary", json={"version": 2, "share": 0.5})
    seen = {_answering_version(client) for _ in range(60)}
    assert seen == {("policies:canary", 2), ("policies", 1)}  # all on one side: p = 2 * 0.5**60

    r = client.delete(f"{BASE}/canary")
    assert r.status_code == 200
    assert r.json() == {"index": "policies", "alias": "policies:canary", "version": 2, "share": 0.5}
    assert _answering_version(client) == ("policies", 1)
    [summary] = client.get("/v1/indexes").json()
    assert (summary["canary_version"], summary["canary_share"]) == (None, None)
    r = client.delete(f"{BASE}/canary")  # idempotent
    assert r.status_code == 200 and (r.json()["version"], r.json()["share"]) == (None, None)

    actions = [(e.action, e.version) for e in services.catalog.alias_history("policies:canary")]
    assert actions == [(CANARY_ACTION, 2), (CANARY_ACTION, 2), (CANARY_REMOVED_ACTION, 2)]


def test_canary_errors(client: TestClient) -> None:
    services = _services(client)
    failed = services.catalog.allocate_version("policies")
    services.catalog.mark_failed("policies", failed, "crashed")
    for body in ({"version": 1, "share": 0}, {"version": 1, "share": 1.5}, {"version": 1}, {"version": 0, "share": 1}):
        _error(client.post(f"{BASE}/canary", json=body), 422, "validation_error")
    _error(client.post(f"{BASE}/canary", json={"version": 7, "share": 0.5}), 404, "version_not_found")
    _error(client.post(f"{BASE}/canary", json={"version": failed, "share": 0.5}), 404, "version_not_found")
    _error(client.post("/v1/indexes/other/canary", json={"version": 1, "share": 0.5}), 404, "index_not_found")
    _error(client.post(f"{BASE}/canary", json={"version": 1, "share": 0.5}), 409, "conflict")  # already live
    _error(client.delete("/v1/indexes/other/canary"), 404, "index_not_found")
    assert client.get("/v1/indexes").json()[0]["canary_version"] is None


def test_promoting_the_canary_clears_it_and_rollback_still_works(client: TestClient) -> None:
    services = _services(client)
    services.builder.build("policies", SAMPLE_DIR / "people")  # v2
    assert client.post(f"{BASE}/canary", json={"version": 2, "share": 0.2}).status_code == 200

    r = client.post(f"{BASE}/promote", json={"version": 2})
    assert r.status_code == 200 and r.json()["previous_version"] == 1
    [summary] = client.get("/v1/indexes").json()
    assert (summary["live_version"], summary["canary_version"], summary["canary_share"]) == (2, None, None)
    assert _answering_version(client) == ("policies", 2)

    r = client.post(f"{BASE}/rollback")  # canary events are not promotions: back to v1
    assert r.status_code == 200 and (r.json()["previous_version"], r.json()["version"]) == (2, 1)


# --- retention -------------------------------------------------------------------------------


def test_retention_drops_old_unaliased_versions(client: TestClient) -> None:
    services = _services(client)
    for _ in range(3):
        services.builder.build("policies", SAMPLE_DIR / "people")  # v2, v3, v4
    assert client.post(f"{BASE}/canary", json={"version": 2, "share": 0.1}).status_code == 200

    r = client.post(f"{BASE}/retention", json={"keep": 1})
    assert r.status_code == 200, r.text
    assert r.json() == {"index": "policies", "keep": 1, "keep_days": 0, "dropped": [3]}  # v1 live, v2 canary, v4 newest

    states = {v["version"]: v["state"] for v in client.get(f"{BASE}/versions").json()}
    assert states == {1: "ready", 2: "ready", 3: "dropped", 4: "ready"}
    assert not services.engine.has_version("policies", 3)
    _error(client.post("/v1/ask", json={**QUESTION, "index": "policies@3"}), 404, "version_not_found")
    _error(client.post(f"{BASE}/promote", json={"version": 3}), 404, "version_not_found")
    assert client.get(f"{BASE}/diff?from=3&to=4").status_code == 200  # its manifest is kept
    assert _answering_version(client, "policies@4") == (None, 4)

    assert client.post(f"{BASE}/retention", json={"keep": 1}).json()["dropped"] == []


def test_retention_defaults_to_the_setting(client_factory: ClientFactory) -> None:
    client = client_factory(retain_versions=2)
    services = _services(client)
    for _ in range(3):
        services.builder.build("policies", SAMPLE_DIR / "people")  # v2, v3, v4
    r = client.post(f"{BASE}/retention")
    assert r.status_code == 200, r.text
    assert r.json() == {"index": "policies", "keep": 2, "keep_days": 0, "dropped": [2]}
    assert client.post(f"{BASE}/retention", json={}).json() == {
        "index": "policies",
        "keep": 2,
        "keep_days": 0,
        "dropped": [],
    }


@pytest.mark.parametrize("body", [{"keep": 0}, {"keep": "all"}, {"keep": 2, "extra": 1}])
def test_retention_rejects_bad_input(client: TestClient, body: dict[str, object]) -> None:
    _error(client.post(f"{BASE}/retention", json=body), 422, "validation_error")


def test_retention_of_an_unknown_index_is_404(client: TestClient) -> None:
    _error(client.post("/v1/indexes/other/retention", json={"keep": 1}), 404, "index_not_found")
