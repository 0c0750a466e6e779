"""Damaged and missing shards: promotion refuses them, readiness and questions say so, listings mark them.

Real shard files of a built version are damaged (payload pages overwritten: the shard opens but
every search fails; the segment description garbled: the shard no longer opens) or removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexes.errors import StorageDamaged
from rag.cli import app as cli_app
from tests.api.conftest import ClientFactory, client_factory  # noqa: F401  (fixture)
from tests.conftest import ServicesFactory
from tests.faults.shard_damage import (
    build_second_version,
    garble_payload,
    garble_segment_config,
    remove_shard,
)

QUESTION = {"question": "How many vacation days do I get?"}


def _versions(client: object) -> dict[int, dict[str, object]]:
    r = client.get("/v1/indexes/policies/versions")  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return {v["version"]: v for v in r.json()}


def _cli_versions(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RAG_DATA_DIR", str(data_dir))
    for name in ("RAG_QDRANT_URL", "RAG_DATABASE_URL", "RAG_LLM_MODEL", "RAG_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli_app, ["versions", "policies"])
    assert result.exit_code == 0, result.output
    return result.output


def test_promote_refuses_a_version_whose_search_fails(
    client_factory: ClientFactory,  # noqa: F811
    services_factory: ServicesFactory,
    sample_copy: Path,
) -> None:
    version = build_second_version(services_factory, sample_copy)
    garble_payload(sample_copy, version)
    client = client_factory()

    r = client.post("/v1/indexes/policies/promote", json={"version": version})

    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "storage_damaged"
    assert f"policies@{version}" in error["message"]
    # the alias did not move: the old version still answers and readiness stays green
    assert client.get("/readyz").json()["checks"]["index"] == "policies@1"
    assert client.post("/v1/ask", json=QUESTION).json()["index"]["version"] == 1
    listed = _versions(client)[version]
    assert listed["state"] == "damaged"
    assert f"policies@{version}" in str(listed["error"])


def test_damaged_live_version_fails_readiness_questions_and_listings(
    client_factory: ClientFactory,  # noqa: F811
    sample_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garble_payload(sample_copy, 1)
    client = client_factory()

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "storage_damaged" in ready.json()["checks"]["index"]
    r = client.post("/v1/ask", json=QUESTION)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "storage_damaged"
    assert "policies@1" in r.json()["error"]["message"]
    assert _versions(client)[1]["state"] == "damaged"
    client.__exit__(None, None, None)  # release the shard for the CLI

    output = _cli_versions(sample_copy, monkeypatch)
    assert "damaged" in output
    assert "storage of policies@1" in output


def test_live_version_that_no_longer_opens_answers_503(
    client_factory: ClientFactory,  # noqa: F811
    sample_copy: Path,
) -> None:
    garble_segment_config(sample_copy, 1)
    client = client_factory()

    r = client.post("/v1/ask", json=QUESTION)

    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "storage_damaged"
    assert client.get("/readyz").status_code == 503


def test_missing_live_shard_is_reported_as_missing_everywhere(
    client_factory: ClientFactory,  # noqa: F811
    sample_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = remove_shard(sample_copy, 1)
    missing = f"storage of policies@1 is missing at {path}"
    client = client_factory()

    ask = client.post("/v1/ask", json=QUESTION)
    assert ask.status_code == 503
    assert ask.json()["error"] == {"code": "storage_missing", "message": missing}
    pinned = client.post("/v1/ask", json={**QUESTION, "index": "policies@1"})
    assert pinned.json()["error"]["code"] == "storage_missing"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert missing in ready.json()["checks"]["index"]
    doc_id = _versions(client)[1]["manifest"]["documents"][0]["doc_id"]  # type: ignore[index]
    text = client.get(f"/v1/indexes/policies/versions/1/documents/{doc_id}")
    assert text.json()["error"] == {"code": "storage_missing", "message": missing}
    listed = _versions(client)[1]
    assert (listed["state"], listed["live"], listed["error"]) == ("damaged", True, missing)

    output = _cli_versions(sample_copy, monkeypatch)
    assert "damaged" in output
    assert "is missing at" in output


def test_rollback_refuses_to_return_to_a_damaged_version(services_factory: ServicesFactory, sample_copy: Path) -> None:
    version = build_second_version(services_factory, sample_copy)
    services = services_factory(sample_copy)
    services.registry.promote("policies", version)
    garble_payload(sample_copy, 1)

    with pytest.raises(StorageDamaged, match="cannot roll back to policies@1") as caught:
        services.registry.rollback("policies")

    assert caught.value.status == 409
    assert services.registry.live_version("policies") == version
