"""Secrets (the model's API key, the database password) never appear in logs, errors, /docs or dumps."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from rag.cli import app as cli
from rag.settings import Settings
from tests.api.conftest import ClientFactory

MODEL_KEY = "sk-live-7f3a9c-never-shown"
DB_PASSWORD = "pg-pass-42e1-never-shown"
DB_URL = f"postgresql+psycopg://rag:{DB_PASSWORD}@127.0.0.1:1/rag"


def test_settings_mask_secrets_in_every_rendering() -> None:
    settings = Settings(_env_file=None, database_url=DB_URL, llm_api_key=MODEL_KEY, llm_model="m")
    for rendered in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert DB_PASSWORD not in rendered and MODEL_KEY not in rendered
    assert settings.metadata_url == DB_URL  # the wiring still gets the real URL


@pytest.mark.parametrize("bad", [{"rate_limit": "often"}, {"llm_base_url": "http://x/v1"}, {"port": -1}])
def test_invalid_settings_never_echo_secrets(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, database_url=DB_URL, llm_api_key=MODEL_KEY, **bad)  # type: ignore[arg-type]
    assert DB_PASSWORD not in str(info.value) and MODEL_KEY not in str(info.value)


def test_api_errors_logs_and_docs_never_show_the_model_key(
    client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client = client_factory(
            llm_model="gpt-test", llm_base_url="http://127.0.0.1:9/v1", llm_api_key=MODEL_KEY, llm_max_retries=0
        )
        failed = client.post("/v1/ask", json={"question": "How many days of annual leave do I get?"})
        docs = client.get("/docs").text + client.get("/openapi.json").text
        ready = client.get("/readyz").text
    assert failed.status_code == 503
    for text in (failed.text, docs, ready, caplog.text):
        assert MODEL_KEY not in text


def test_cli_database_errors_never_show_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_DATABASE_URL", DB_URL)  # port 1: the connection is refused
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(cli, ["keys", "list"])
    assert result.exit_code != 0
    rendered = result.output + repr(result.exception) + str(result.exception) + caplog.text
    assert "Connection refused" in rendered or "connection" in rendered.lower()
    assert DB_PASSWORD not in rendered
