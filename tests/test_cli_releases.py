"""`rag release` and `rag releases`: make releases from the command line, promote or canary them, list them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.conftest import SAMPLE_DIR

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    for name in ("RAG_QDRANT_URL", "RAG_LLM_MODEL", "RAG_LLM_BASE_URL", "RAG_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAG_MODELS", json.dumps({"local": {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-x"}}))
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    shutil.copytree(SAMPLE_DIR / "people", src)
    return src


def _releases() -> list[dict[str, object]]:
    listed = runner.invoke(app, ["releases", "policies", "--json"])
    assert listed.exit_code == 0, listed.output
    rows: list[dict[str, object]] = json.loads(listed.stdout)
    return rows


def test_release_prompt_promote_list_and_refusals(env: Path) -> None:
    assert runner.invoke(app, ["ingest", str(env), "--index", "policies", "--promote"]).exit_code == 0
    assert [(r["number"], r["follows_settings"], r["live"]) for r in _releases()] == [(1, True, True)]

    made = runner.invoke(app, ["release", "policies", "--prompt", "answer/v1", "--promote"])
    assert made.exit_code == 0, made.output
    assert "release 2 of policies: v1, answer/v1, extractive" in made.output and "release 1 -> 2" in made.output
    rows = _releases()
    assert [(r["number"], r["prompt"], r["follows_settings"], r["live"]) for r in rows] == [
        (2, "answer/v1", False, True),
        (1, "answer/v2", True, False),
    ]
    asked = runner.invoke(app, ["ask", "How many days of annual leave do I get?", "--json"])
    assert asked.exit_code == 0, asked.output
    record = json.loads(asked.stdout)
    assert (record["release"], record["prompt"]["version"]) == (2, "v1")

    canary = runner.invoke(
        app, ["release", "policies", "--model", "local:small", "--temperature", "0.2", "--canary", "0.1"]
    )
    assert canary.exit_code == 0, canary.output
    assert "local:small" in canary.output and "share 0.1" in canary.output
    newest = _releases()[0]
    assert newest["canary"] is True and newest["model"] == {
        "kind": "openai",
        "endpoint": "local",
        "name": "small",
        "temperature": 0.2,
        "max_tokens": 400,
    }
    assert "sk-x" not in runner.invoke(app, ["releases", "policies"]).output

    for args, message in (
        (["--prompt", "answer/v7"], "no prompt template"),
        (["--model", "elsewhere:m"], "unknown model endpoint 'elsewhere'"),
        (["--model", "nocolon"], "ENDPOINT:MODEL"),
        (["--version", "5"], "no version 5"),
    ):
        bad = runner.invoke(app, ["release", "policies", *args])
        assert bad.exit_code == 1 and message in bad.output, (args, bad.output)
    assert len(_releases()) == 3
    assert runner.invoke(app, ["releases", "handbook"]).exit_code == 1


def test_promote_refuses_a_release_whose_gate_failed_unless_forced(env: Path) -> None:
    from rag.commands.common import load_settings
    from rag.registry import build_registry

    assert runner.invoke(app, ["ingest", str(env), "--index", "policies", "--promote"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(env), "--index", "policies"]).exit_code == 0  # v2, not live
    made = runner.invoke(app, ["release", "policies", "--version", "2"])
    assert made.exit_code == 0 and "release 2 of policies: v2" in made.output, made.output
    opened = build_registry(load_settings())
    try:  # what POST .../releases/2/gate keeps when the gate fails
        opened.registry.gates.put("policies", 2, {"passed": False, "reasons": ["recall@5 dropped"], "live_release": 1})
    finally:
        opened.close()

    refused = runner.invoke(app, ["promote", "policies", "2"])
    assert refused.exit_code == 1 and "release 2 failed its gate against release 1" in refused.output
    assert [r["number"] for r in _releases() if r["live"]] == [1]
    forced = runner.invoke(app, ["promote", "policies", "2", "--force"])
    assert forced.exit_code == 0 and "1 -> 2" in forced.output, forced.output
    assert [r["number"] for r in _releases() if r["live"]] == [2]
