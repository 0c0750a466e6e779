"""Issue 10 item 2: a purge reaches every version that can ever go live, even one being built.

The race: a build collects its files, then ``DELETE .../documents/{doc}?purge=true`` answers
``deleted``, then the build seals and promotes a version that holds the document again. The build
is held mid-embedding (its embedder waits on an event) while the purge runs, so the race is
exact, not timed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexes.purge import purge_document
from ingest.embedding import Embedder
from tests.api import conftest as api_fixtures
from tests.api.conftest import ClientFactory, services_of
from tests.conftest import SAMPLE_DIR, ServicesFactory

client_factory = api_fixtures.client_factory  # the API tests' app-with-lifespan fixture

DOC = "NW-PEO-001"  # people/annual-leave.md
QUESTION = "How many vacation days do I get?"


def _wait_job(client: TestClient, job_id: str, timeout: float = 400.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)  # a poll interval, not a wait for an effect (the API rate-limits polling)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _held_embedder(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the embedder wait (once) until released; returns (embedding started, release)."""
    embedding, release = threading.Event(), threading.Event()
    original = embedder.encode_documents

    def held(texts: list[str]) -> Any:
        embedding.set()
        assert release.wait(60), "the test never released the build"
        return original(texts)

    monkeypatch.setattr(embedder, "encode_documents", held)
    return embedding, release


def test_a_purge_during_a_running_build_is_not_undone_by_its_promotion(
    client_factory: ClientFactory, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_factory()
    embedding, release = _held_embedder(embedder, monkeypatch)
    job_id = client.post(
        "/v1/indexes/policies/builds", json={"mode": "full", "promote": "always", "source": str(SAMPLE_DIR / "people")}
    ).json()["job_id"]
    try:
        assert embedding.wait(60), "the build never reached embedding"
        purged = client.delete(f"/v1/indexes/policies/documents/{DOC}", params={"purge": "true"})
        assert purged.status_code == 200, purged.text
        assert purged.json()["status"] == "deleted"
    finally:
        release.set()
    job = _wait_job(client, job_id)
    assert job["state"] == "succeeded", job
    version = job["result"]["version"]
    assert job["result"]["promoted"] is True
    assert client.get("/v1/indexes").json()[0]["live_version"] == version
    manifest = {v["version"]: v for v in client.get("/v1/indexes/policies/versions").json()}[version]["manifest"]
    assert DOC not in {d["doc_id"] for d in manifest["documents"]}
    assert DOC in {p["doc_id"] for p in manifest["purged"]}
    # nothing of it is searchable in the live version, nor in any other
    services = services_of(client)
    for v in (1, version):
        assert not [p for p in services.engine.iter_points("policies", v) if p.chunk.doc_id == DOC], v
    answer = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert answer["index"]["version"] == version
    assert all(c["doc_id"] != DOC for c in answer["citations"]), answer["citations"]


def test_a_purge_recorded_while_a_build_seals_reaches_the_version_once_it_is_ready(
    services_factory: ServicesFactory, sample_copy: Any
) -> None:
    services = services_factory(sample_copy)
    seen: list[str] = []

    def purge_when_sealing(manifest: Any) -> Any:  # runs after the seal, before the version is ready
        seen.append("finalize")
        purge_document(services.catalog, services.engine, "policies", DOC)
        return manifest

    result = services.builder.build(
        "policies", SAMPLE_DIR / "people", mode="full", promote=True, finalize=purge_when_sealing
    )
    assert seen == ["finalize"]
    assert result.promoted and DOC not in {d.doc_id for d in result.manifest.documents}
    assert not [p for p in services.engine.iter_points("policies", result.version) if p.chunk.doc_id == DOC]


def test_promoting_a_version_that_holds_a_purged_document_is_refused(client_factory: ClientFactory) -> None:
    client = client_factory()
    services = services_of(client)
    built = services.builder.build("policies", SAMPLE_DIR / "people")  # v2, ready, not live
    # a purge whose process stopped after recording it and before reaching v2
    services.catalog.purges.record("policies", DOC)
    refused = client.post("/v1/indexes/policies/promote", json={"version": built.version})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "purged_document_present"
    assert DOC in refused.json()["error"]["message"]
    assert client.get("/v1/indexes").json()[0]["live_version"] == 1
    # retrying the purge (deleting is idempotent) cleans v2, which may then go live
    assert client.delete(f"/v1/indexes/policies/documents/{DOC}", params={"purge": "true"}).status_code == 200
    promoted = client.post("/v1/indexes/policies/promote", json={"version": built.version})
    assert promoted.status_code == 200, promoted.text
    assert client.get("/v1/indexes").json()[0]["live_version"] == built.version
