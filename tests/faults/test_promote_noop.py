"""Promoting the live version changes nothing and says so; a rollback always moves to another version."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app as cli_app
from rag.errors import Conflict
from tests.api.conftest import ClientFactory, client_factory  # noqa: F401  (fixture)
from tests.conftest import ServicesFactory
from tests.faults.shard_damage import build_second_version


def test_promoting_the_live_version_is_refused_and_leaves_history_alone(
    client_factory: ClientFactory,  # noqa: F811
    services_factory: ServicesFactory,
    sample_copy: Path,
) -> None:
    v2 = build_second_version(services_factory, sample_copy)
    client = client_factory()
    assert client.post("/v1/indexes/policies/promote", json={"version": v2}).status_code == 200

    again = client.post("/v1/indexes/policies/promote", json={"version": v2})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_live"
    assert f"policies@{v2} is already live" in again.json()["error"]["message"]
    back = client.post("/v1/indexes/policies/rollback")
    assert back.status_code == 200
    assert (back.json()["previous_version"], back.json()["version"]) == (v2, 1)
    assert client.post("/v1/ask", json={"question": "How many vacation days do I get?"}).json()["index"]["version"] == 1


def test_rollback_never_returns_to_the_live_version(services_factory: ServicesFactory, sample_copy: Path) -> None:
    """Promote 1, 2, 3; drop 2; roll back to 1: a second rollback must not 'move' 1 -> 1."""
    v2 = build_second_version(services_factory, sample_copy)
    v3 = build_second_version(services_factory, sample_copy)
    services = services_factory(sample_copy)
    registry = services.registry
    registry.promote("policies", v2)
    registry.promote("policies", v3)
    services.catalog.mark_dropped("policies", v2)
    services.engine.drop_version("policies", v2)
    assert registry.rollback("policies") == (v3, 1)

    with pytest.raises(Conflict, match="no earlier promoted version"):
        registry.rollback("policies")

    assert registry.live_version("policies") == 1


def test_cli_promote_of_the_live_version_says_nothing_changed(
    sample_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(sample_copy))
    for name in ("RAG_QDRANT_URL", "RAG_DATABASE_URL", "RAG_LLM_MODEL", "RAG_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)

    result = CliRunner().invoke(cli_app, ["promote", "policies", "1"])

    assert result.exit_code == 0, result.output
    assert "policies@1 is already live; nothing changed" in result.output
