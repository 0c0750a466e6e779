"""`rag source` (folder, --git, --s3) and `rag check` from the command line, with no model loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from git import Repo
from typer.testing import CliRunner

from rag.cli import app
from tests.ingest.test_sources_git import commit

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_SOURCE_SECRETS", '{"hb-token": "ghp_cli-DO-NOT-LEAK"}')
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", str(tmp_path / "no-such-model"))  # proves no model is loaded
    for name in ("RAG_QDRANT_URL", "RAG_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    repo = Repo.init(tmp_path / "repo", initial_branch="main")
    commit(repo, {"handbook/leave.md": "# Leave\n\n25 days.\n"}, "first")
    return tmp_path / "repo"


def test_source_binds_a_repository_and_check_reports_changes(env: Path) -> None:
    bound = runner.invoke(app, ["source", "policies", "--git", str(env), "--path", "handbook", "--every", "15m"])
    assert bound.exit_code == 0, bound.output
    assert f"builds from git {env}@main:handbook" in " ".join(bound.output.split())
    shown = runner.invoke(app, ["source", "policies"])
    assert shown.exit_code == 0 and '"kind":"git"' in shown.output and '"every":"15m"' in shown.output
    checked = runner.invoke(app, ["check", "policies"])
    assert checked.exit_code == 0 and "changed (built at nothing recorded" in checked.output
    assert "last check" in runner.invoke(app, ["source", "policies"]).output


def test_source_and_check_refuse_bad_input_with_an_exit_code(env: Path) -> None:
    both = runner.invoke(app, ["source", "policies", "--git", str(env), "--s3", "bucket"])
    assert both.exit_code == 1 and "give one source" in both.output
    wiki = runner.invoke(app, ["source", "wiki", "--confluence", "https://x.atlassian.net", "--space", "HR"])
    assert wiki.exit_code == 0 and "confluence https://x.atlassian.net space HR" in wiki.output
    nospace = runner.invoke(app, ["source", "wiki", "--confluence", "https://x.atlassian.net"])
    assert nospace.exit_code == 1 and "space" in nospace.output
    secret = runner.invoke(app, ["source", "policies", "--git", "https://h.example/r.git", "--token-secret", "nope"])
    assert secret.exit_code == 1 and "no secret named 'nope'" in secret.output
    every = runner.invoke(app, ["source", "policies", "--git", str(env), "--every", "soon"])
    assert every.exit_code == 1 and "every" in every.output
    assert runner.invoke(app, ["check", "other"]).exit_code == 1
    ok = runner.invoke(app, ["source", "policies", "--git", "https://h.example/r.git", "--token-secret", "hb-token"])
    shown = runner.invoke(app, ["source", "policies"]).output
    assert ok.exit_code == 0 and "hb-token" in shown and "ghp_cli-DO-NOT-LEAK" not in ok.output + shown


def test_source_takes_the_canary_policy_and_refuses_a_bad_share(env: Path) -> None:
    bound = runner.invoke(
        app, ["source", "policies", "--git", str(env), "--promote", "canary", "--canary-share", "0.3"]
    )
    assert bound.exit_code == 0, bound.output
    shown = runner.invoke(app, ["source", "policies"]).output
    assert '"promote":"canary"' in shown and '"canary_share":0.3' in shown
    bad = runner.invoke(app, ["source", "policies", "--git", str(env), "--promote", "canary", "--canary-share", "2"])
    assert bad.exit_code == 1 and "canary_share" in bad.output
    assert '"canary_share":0.3' in runner.invoke(app, ["source", "policies"]).output  # nothing changed
