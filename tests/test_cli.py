"""The ``rag`` command line, run in-process with typer's runner against a temporary data folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.settings import Settings
from tests.conftest import SAMPLE_DIR

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    for name in ("RAG_QDRANT_URL", "RAG_LLM_MODEL", "RAG_LLM_BASE_URL", "RAG_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    shutil.copytree(SAMPLE_DIR / "people", src)
    return src


def test_missing_source_is_a_clear_error_with_nonzero_exit(env: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nowhere"), "--index", "policies"])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_ingest_promote_versions_ask_rollback(env: Path) -> None:
    result = runner.invoke(app, ["ingest", str(env), "--index", "policies", "--promote"])
    assert result.exit_code == 0, result.output
    assert "built policies@1" in result.output and "alias policies -> version 1" in result.output

    again = runner.invoke(app, ["ingest", str(env), "--index", "policies", "--promote", "--if-changed"])
    assert again.exit_code == 0 and "nothing to do" in again.output

    (env / "new-policy.md").write_text("# Pets\n\nDogs are welcome in the office on Fridays.\n")
    changed = runner.invoke(app, ["ingest", str(env), "--index", "policies", "--if-changed"])
    assert changed.exit_code == 0 and "built policies@2" in changed.output
    assert "not promoted; run: rag promote policies 2" in changed.output

    listing = runner.invoke(app, ["versions", "policies"])
    assert listing.exit_code == 0 and listing.output.count("ready") == 2

    promoted = runner.invoke(app, ["promote", "policies", "2"])
    assert promoted.exit_code == 0 and "1 -> 2" in promoted.output

    history = runner.invoke(app, ["history", "policies", "--json"])
    assert history.exit_code == 0, history.output
    spans = json.loads(history.stdout)
    assert [(s["version"], s["action"], s["state"]) for s in spans] == [
        (1, "promote", "ready"),
        (2, "promote", "ready"),
    ]
    assert spans[0]["live_until"] == spans[1]["live_from"] and spans[1]["live_until"] is None
    assert spans[0]["actor"] is None and spans[1]["actor"].startswith("cli:")  # the build's promotion names nobody
    table = runner.invoke(app, ["history", "policies"])
    assert table.exit_code == 0 and "(live)" in table.output
    assert runner.invoke(app, ["history", "handbook"]).exit_code == 1

    asked = runner.invoke(app, ["ask", "Can I bring my dog to the office?", "--json"])
    assert asked.exit_code == 0, asked.output
    record = json.loads(asked.stdout)
    assert record["index"]["version"] == 2 and record["citations"][0]["source"] == "new-policy.md"

    pinned = runner.invoke(app, ["ask", "Can I bring my dog to the office?", "--index", "policies@1", "--json"])
    assert json.loads(pinned.stdout)["index"]["version"] == 1

    back = runner.invoke(app, ["rollback", "policies"])
    assert back.exit_code == 0 and "2 -> 1" in back.output
    nothing = runner.invoke(app, ["rollback", "policies"])
    assert nothing.exit_code == 1 and "no earlier promoted version" in nothing.output


def test_bad_promote_and_unknown_index(env: Path) -> None:
    assert runner.invoke(app, ["ingest", str(env), "--index", "policies"]).exit_code == 0
    bad = runner.invoke(app, ["promote", "policies", "9"])
    assert bad.exit_code == 1 and "no version 9" in bad.output
    unknown = runner.invoke(app, ["versions", "handbook"])
    assert unknown.exit_code == 1 and "unknown index" in unknown.output
    # the message names the indexes there are, so a user whose index is not the default sees what to type
    assert "the indexes here are policies (name one: rag versions policies)" in unknown.output
    for command in ("history", "releases"):
        other = runner.invoke(app, [command, "handbook"])
        assert other.exit_code == 1 and f"name one: rag {command} policies" in other.output
    asked = runner.invoke(app, ["ask", "anything", "--index", "handbook"])
    assert asked.exit_code == 1 and "unknown index" in asked.output


def test_unknown_index_before_any_build_says_how_to_build_one(env: Path) -> None:
    empty = runner.invoke(app, ["versions"])
    assert empty.exit_code == 1 and "no index has been built yet (rag ingest FOLDER --index NAME)" in empty.output


def test_build_queues_a_job_that_rag_worker_runs(env: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from indexes.catalog import Catalog
    from ingest.jobs.store import JobStore

    queued = runner.invoke(app, ["build", "policies", "--promote", "always", "--source", str(env)])
    assert queued.exit_code == 0, queued.output
    job_id = queued.output.split()[2]
    listing = runner.invoke(app, ["jobs", "--index", "policies"])
    assert job_id[:8] in listing.output and "queued" in listing.output

    worker = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "worker"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'data' / 'rag.sqlite3'}")
    store = JobStore(catalog.engine)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            job = store.get(job_id)
            assert job is not None
            if job.state not in ("queued", "running"):
                break
            time.sleep(0.5)
        assert job is not None
        assert job.state == "succeeded", job
        assert job.result is not None and job.result["version"] == 1 and job.result["promoted"]
    finally:
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=60)
        catalog.close()
    assert "waiting for build jobs" in output


def test_source_configures_the_folder_build_jobs_read(env: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["source", "policies", str(env)])
    assert result.exit_code == 0 and "builds from" in result.output
    missing = runner.invoke(app, ["source", "policies", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1


def test_eval_builds_the_data_set_compares_runs_and_writes_reports(env: Path, tmp_path: Path) -> None:
    from tests.rag.evaluation.eval_data import write_spans

    folder = write_spans(tmp_path / "mini-spans")
    result = runner.invoke(
        app,
        ["eval", str(folder), "--compare", "mode=dense", "--json", "out.json", "--markdown", "out.md", "--per-query"],
    )
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "out.json").read_text())
    assert [r["retrieval"]["mode"] for r in runs] == ["hybrid", "dense"]
    assert runs[0]["version"]["index"] == "eval-mini-spans" and runs[0]["dataset"]["queries"] == 4
    assert set(runs[0]["metrics"]) == {"recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10"}
    assert len(runs[1]["per_query"]) == 4
    table = (tmp_path / "out.md").read_text()
    assert "| ndcg@10 |" in table and "delta (2 - 1)" in table and table in result.output
    # a second run reuses the version built from the same documents
    again = runner.invoke(app, ["eval", str(folder), "--version", "eval-mini-spans", "--json", "again.json"])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again.json").read_text())[0]["metrics"] == runs[0]["metrics"]


def test_eval_bad_input_is_a_clear_error(env: Path, tmp_path: Path) -> None:
    from tests.rag.evaluation.eval_data import write_beir

    missing = runner.invoke(app, ["eval", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    folder = write_beir(tmp_path / "mini")
    bad = runner.invoke(app, ["eval", str(folder), "--compare", "speed=fast"])
    assert bad.exit_code == 1 and "expected key=value" in bad.output
    unknown = runner.invoke(app, ["eval", str(folder), "--version", "nope@3"])
    assert unknown.exit_code == 1 and "nope" in unknown.output


def test_serve_refuses_to_start_with_a_reranker_that_cannot_load(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_RERANKER_MODEL", "no-such/cross-encoder")
    result = runner.invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert "cannot load reranker model 'no-such/cross-encoder'" in result.output


def test_keys_bootstrap_create_list_revoke_and_audit_export(env: Path, tmp_path: Path) -> None:
    boot = runner.invoke(app, ["keys", "bootstrap"])
    assert boot.exit_code == 0, boot.output
    secrets = [line.split()[-1] for line in boot.output.splitlines() if line.strip().startswith(("admin", "employee"))]
    assert len(secrets) == 2 and all(s.startswith("rag_") for s in secrets)
    again = runner.invoke(app, ["keys", "bootstrap"])
    assert again.exit_code == 0 and "nothing created" in again.output and "rag_" not in again.output

    created = runner.invoke(
        app, ["keys", "create", "--role", "owner", "--name", "hr owner", "--groups", "hr,finance", "--indexes", "hr"]
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    listing = runner.invoke(app, ["keys", "list", "--json"])
    assert listing.exit_code == 0, listing.output
    rows = {row["key_id"]: row for row in map(json.loads, listing.stdout.splitlines())}
    assert rows[key_id]["groups"] == ["finance", "hr"] and rows[key_id]["indexes"] == ["hr"]
    assert sorted(r["role"] for r in rows.values()) == ["admin", "employee", "owner"]
    table = runner.invoke(app, ["keys", "list"]).output
    assert not any(s in listing.output + table for s in [*secrets, secret])
    bad = runner.invoke(app, ["keys", "create", "--role", "root", "--name", "x"])
    assert bad.exit_code == 1 and "unknown role" in bad.output

    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    import sqlalchemy as sa

    from rag.access.keys import KeyStore
    from rag.settings import Settings

    db = sa.create_engine(Settings().metadata_url)
    assert KeyStore(db).get(key_id).revoked_at is not None  # type: ignore[union-attr]
    db.dispose()
    missing = runner.invoke(app, ["keys", "revoke", "0000000000000000"])
    assert missing.exit_code == 1 and "unknown key" in missing.output

    out = tmp_path / "audit.jsonl"
    exported = runner.invoke(app, ["audit", "export", "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("key.create", "ok"),
        ("key.create", "ok"),
        ("key.create", "ok"),
        ("key.create", "invalid_input"),
        ("key.revoke", "ok"),
        ("key.revoke", "key_not_found"),
    ]
    assert all(e["actor_id"] == "cli" and e["actor_name"].startswith("cli:") for e in entries)
    assert not any(s in out.read_text() for s in [*secrets, secret])
    stdout = runner.invoke(app, ["audit", "export"])
    assert [json.loads(line)["id"] for line in stdout.stdout.splitlines()] == [e["id"] for e in entries]


def test_listing_needs_no_model_and_serve_asks_a_live_index(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    built = runner.invoke(app, ["ingest", str(env), "--index", "handbooks", "--promote"])
    assert built.exit_code == 0, built.output

    # Listing, promoting and rolling back load no model: an embedder that cannot load does not matter.
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", str(tmp_path / "no-such-model"))
    listing = runner.invoke(app, ["versions", "handbooks"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.count("ready") == 1
    promoted = runner.invoke(app, ["promote", "handbooks", "1"])
    assert promoted.exit_code == 0, promoted.output
    monkeypatch.delenv("RAG_EMBEDDING_MODEL")

    # `rag serve` names the live indexes and its sample request asks one of them, not the default `policies`.
    monkeypatch.setenv("RAG_AUTH_ENABLED", "false")
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kwargs: served.append(app_))
    result = runner.invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "live indexes: handbooks@1" in result.output
    assert "'policies' is not live" in result.output
    body = json.loads(result.output.split("-d '", 1)[1].split("'", 1)[0])
    assert body["index"] == "handbooks"
    with TestClient(served[0]) as client:  # type: ignore[arg-type]
        answer = client.post("/v1/ask", json=body)
        assert answer.status_code == 200, answer.json()
        assert answer.json()["index"]["name"] == "handbooks"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["live"] == "handbooks@1"


def test_serve_without_a_live_index_says_how_to_build_one(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app_, **kwargs: None)
    result = runner.invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "no index is live yet" in result.output and "rag ingest FOLDER --index policies --promote" in result.output


@pytest.mark.parametrize(("configured", "served_with"), [(None, 1), ("2", 2)])
def test_serve_uses_one_model_thread_unless_told_otherwise(
    env: Path, monkeypatch: pytest.MonkeyPatch, configured: str | None, served_with: int
) -> None:
    import uvicorn

    import api.app

    if configured is None:
        monkeypatch.delenv("RAG_EMBEDDING_THREADS", raising=False)
    else:
        monkeypatch.setenv("RAG_EMBEDDING_THREADS", configured)
    seen: list[Settings] = []

    def create_app(settings: Settings) -> object:
        seen.append(settings)
        return object()

    monkeypatch.setattr(api.app, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kwargs: None)
    result = runner.invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen[0].embedding_threads == served_with
    # every other command (a build with `rag ingest`) reads the setting as it is: unset is all cores
    assert Settings().embedding_threads == (None if configured is None else served_with)


def test_a_bad_setting_ends_a_command_with_a_clean_error(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_TOP_K", "many")
    monkeypatch.setenv("RAG_SENTENCE_CANDIDATES", "-1")
    result = runner.invoke(app, ["versions", "policies"])
    assert result.exit_code == 2
    assert "invalid settings" in result.output
    assert "RAG_TOP_K" in result.output and "RAG_SENTENCE_CANDIDATES" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "data").exists()  # nothing was created before the settings were read


def test_a_database_that_cannot_be_opened_ends_a_command_with_a_clean_error(env: Path) -> None:
    """As a user runs it (its own process: nothing of other tests' logging or capture)."""
    import os
    import subprocess
    import sys

    data = Settings().data_dir
    commands: list[tuple[Path, subprocess.Popen[str]]] = []
    for name in ("rag.sqlite3", "rag-canary.sqlite3"):  # the metadata file, then the canary file
        folder = data / name.removesuffix(".sqlite3")  # a data folder each: the two commands run at once
        (folder / name).mkdir(parents=True)  # a directory where the database file should be
        command = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "ingest", str(env), "--index", "policies"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "RAG_DATA_DIR": str(folder)},
        )
        commands.append((folder / name, command))
    try:
        for blocked, command in commands:
            stdout, stderr = command.communicate(timeout=300)
            assert command.returncode == 2, stderr
            assert "the metadata database could not be used: unable to open database file" in stderr
            assert "Traceback" not in stderr and "Traceback" not in stdout
            assert blocked.is_dir()  # nothing was replaced
    finally:
        for _, command in commands:  # none left running if one failed
            if command.poll() is None:
                command.kill()
                command.wait()
