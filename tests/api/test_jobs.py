"""Build jobs over HTTP with the worker inside the app: run, fail clearly, cancel, survive restarts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.embedding import Embedder
from tests.api.conftest import ClientFactory
from tests.conftest import SAMPLE_DIR


def _wait(client: TestClient, job_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_a_build_job_produces_and_promotes_a_version(client: TestClient) -> None:
    r = client.post("/v1/indexes/policies/builds", json={"promote": "always", "source": str(SAMPLE_DIR)})
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    assert r.headers["location"] == f"/v1/jobs/{job_id}"
    job = _wait(client, job_id)
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["version"] == 2 and result["promoted"] is True
    # the sample was built as v1 from the same files: every vector is reused, none embedded
    assert (result["chunks_embedded"], result["chunks_reused"]) == (0, result["chunks"])
    assert job["progress"]["chunks_done"] == job["progress"]["chunks_total"] == result["chunks"]
    assert client.post("/v1/ask", json={"question": "How long must passwords be?"}).json()["index"]["version"] == 2
    listed = client.get("/v1/jobs", params={"index": "policies"}).json()
    assert [j["job_id"] for j in listed] == [job_id]


def test_a_missing_source_fails_the_job_with_a_clear_reason(client: TestClient) -> None:
    job_id = client.post(
        "/v1/indexes/policies/builds", json={"promote": "always", "source": "/nonexistent/policies"}
    ).json()["job_id"]
    job = _wait(client, job_id)
    assert job["state"] == "failed"
    assert "does not exist" in job["error"] and job["error"].startswith("source_error")
    assert client.get("/v1/indexes").json()[0]["live_version"] == 1


def test_never_policy_builds_without_promoting(client: TestClient) -> None:
    job = _wait(
        client,
        client.post(
            "/v1/indexes/policies/builds",
            json={"promote": "never", "mode": "full", "source": str(SAMPLE_DIR / "people")},
        ).json()["job_id"],
    )
    assert job["state"] == "succeeded" and job["result"]["promoted"] is False
    assert "policy 'never'" in job["result"]["promotion"]
    assert job["result"]["chunks_embedded"] == job["result"]["chunks"]  # full mode
    assert client.get("/v1/indexes").json()[0]["live_version"] == 1


def test_job_errors(client: TestClient) -> None:
    assert client.get("/v1/jobs/nope").status_code == 404
    assert client.post("/v1/jobs/nope/cancel").status_code == 404
    assert client.post("/v1/indexes/policies/builds", json={"mode": "partial"}).status_code == 422
    assert client.post("/v1/indexes/Bad Name/builds", json={}).status_code == 422


def test_cancel_a_queued_job_and_a_queued_job_survives_a_restart(client_factory: ClientFactory) -> None:
    stopped = client_factory(worker_enabled=False)
    keep = stopped.post("/v1/indexes/policies/builds", json={"promote": "always", "source": str(SAMPLE_DIR / "people")})
    drop = stopped.post("/v1/indexes/policies/builds", json={"source": str(SAMPLE_DIR)})
    cancelled = stopped.post(f"/v1/jobs/{drop.json()['job_id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert stopped.post(f"/v1/jobs/{drop.json()['job_id']}/cancel").status_code == 409
    assert stopped.get(f"/v1/jobs/{keep.json()['job_id']}").json()["state"] == "queued"
    stopped.__exit__(None, None, None)  # the API process stops with the job still queued

    restarted = client_factory()  # a new process over the same data folder, worker on
    job = _wait(restarted, keep.json()["job_id"])
    assert job["state"] == "succeeded" and job["result"]["version"] == 2
    assert restarted.get(f"/v1/jobs/{drop.json()['job_id']}").json()["state"] == "cancelled"


def test_a_job_whose_worker_died_is_failed_at_start_up_with_a_reason(client_factory: ClientFactory) -> None:
    first = client_factory(worker_enabled=False)
    services = first.app.state.services  # type: ignore[attr-defined]
    store = services.jobs.store
    job = store.create("policies", "incremental", "always", str(SAMPLE_DIR))
    store.claim(job.job_id, "elsewhere:4242")  # a worker on another host that then went silent
    version = services.catalog.allocate_version("policies")  # the half-built version it left
    with services.catalog.engine.begin() as conn:
        from ingest.jobs.store import jobs_table

        conn.execute(
            jobs_table.update()
            .where(jobs_table.c.job_id == job.job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    first.__exit__(None, None, None)

    second = client_factory(job_stale_after_s=60)
    failed = second.get(f"/v1/jobs/{job.job_id}").json()
    assert failed["state"] == "failed" and "lease of worker elsewhere:4242 expired" in failed["error"]
    versions = {v["version"]: v["state"] for v in second.get("/v1/indexes/policies/versions").json()}
    assert versions[version] == "failed"
    # the index lock the dead worker held is released: a new build runs
    new = _wait(
        second, second.post("/v1/indexes/policies/builds", json={"source": str(SAMPLE_DIR / "people")}).json()["job_id"]
    )
    assert new["state"] == "succeeded"


def test_if_gate_passes_promotes_only_when_no_metric_drops(client_factory: ClientFactory, tmp_path: Any) -> None:
    import json
    import shutil

    from tests.conftest import GOLDEN_DIR

    lines = (GOLDEN_DIR / "golden.jsonl").read_text().splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    picked = [q for q in questions if q["doc_ids"][0].startswith(("people/annual-leave", "security/"))][:12]
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join(json.dumps(q) for q in picked) + "\n")
    client = client_factory(golden_set=golden, gate_tolerance=0.02)

    same = _wait(client, client.post("/v1/indexes/policies/builds", json={"source": str(SAMPLE_DIR)}).json()["job_id"])
    assert same["state"] == "succeeded" and same["result"]["promoted"] is True, same
    gate = same["result"]["gate"]
    assert gate["passed"] is True and gate["live"]["version"] == 1
    assert gate["new"]["recall"] == gate["live"]["recall"] and gate["new"]["k_recall"] == 5
    manifest = client.get("/v1/indexes/policies/versions").json()[0]["manifest"]
    assert manifest["evaluation"]["gate"]["passed"] is True

    worse = tmp_path / "worse"
    shutil.copytree(SAMPLE_DIR, worse)
    shutil.rmtree(worse / "security")
    (worse / "people" / "annual-leave.md").unlink()
    bad = _wait(client, client.post("/v1/indexes/policies/builds", json={"source": str(worse)}).json()["job_id"])
    assert bad["state"] == "succeeded" and bad["result"]["promoted"] is False
    assert "gate failed" in bad["result"]["promotion"] and "recall@5" in bad["result"]["promotion"]
    assert client.get("/v1/indexes").json()[0]["live_version"] == 2


def test_cancel_a_running_job_leaves_no_version_behind_an_alias(
    client_factory: ClientFactory, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_factory()
    embedding = threading.Event()
    release = threading.Event()
    original = embedder.encode_documents

    def held_encode(texts: list[str]) -> Any:
        embedding.set()  # the job is mid-build: its version exists and is being written
        assert release.wait(60), "the test never released the build"
        return original(texts)

    monkeypatch.setattr(embedder, "encode_documents", held_encode)
    versions_before = client.get("/v1/indexes/policies/versions").json()
    job_id = client.post(
        "/v1/indexes/policies/builds", json={"mode": "full", "promote": "always", "source": str(SAMPLE_DIR)}
    ).json()["job_id"]
    assert embedding.wait(60), "the build never reached the embedding stage"
    running = client.get(f"/v1/jobs/{job_id}").json()
    assert running["state"] == "running"
    building = [v for v in client.get("/v1/indexes/policies/versions").json() if v["state"] == "building"]
    assert len(building) == 1
    accepted = client.post(f"/v1/jobs/{job_id}/cancel")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "running" and accepted.json()["cancel_requested"] is True
    time.sleep(1.2)  # longer than the worker's heartbeat interval, when it next reads the request
    release.set()
    job = _wait(client, job_id)
    assert job["state"] == "cancelled" and "cancelled" in job["error"]
    after = {v["version"]: v for v in client.get("/v1/indexes/policies/versions").json()}
    assert after[building[0]["version"]]["state"] == "failed"  # dropped, never readable
    assert client.get("/v1/indexes").json()[0]["live_version"] == 1  # the alias never moved
    assert len(after) == len(versions_before) + 1
    assert client.post("/v1/ask", json={"question": "How long must passwords be?"}).json()["index"]["version"] == 1
