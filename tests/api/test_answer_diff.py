"""Answer diffs at the gate, end to end: build jobs gate candidates of the sample handbook, the diff is
kept, the gate fails over its thresholds, stale golden questions are listed, and the route serves it.

The sample is v1 (live). v2 changes one number in the annual leave policy: answers about it change,
nothing loses its source, so the gate passes at thresholds of 0 and v2 goes live. v3 removes the
equipment and whistleblowing policies and replaces the sick leave policy: answers lose their source
and some are refused, so the gate holds v3 back. The golden set is the sample's questions on those
four documents (21). No ``unanswerable.jsonl`` lies beside it: with one, every new version would
fit its refusal decision on this small set (``calibration_sets``) and refuse differently from v1.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.cli import app as cli
from tests.api.conftest import ClientFactory, create_key_headers
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR

DOCS = ("people/annual-leave.md", "people/sick-leave.md", "it/equipment.md", "compliance/whistleblowing.pdf")
BASE = "/v1/indexes/policies/versions"


def _wait(client: TestClient, job_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def _build(client: TestClient, source: Path) -> dict[str, Any]:
    r = client.post("/v1/indexes/policies/builds", json={"source": str(source), "promote": "if_gate_passes"})
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["job_id"])
    assert job["state"] == "succeeded", job
    result: dict[str, Any] = job["result"]
    return result


@pytest.fixture()
def golden(tmp_path: Path) -> Path:
    folder = tmp_path / "golden"
    folder.mkdir()
    lines = (GOLDEN_DIR / "golden.jsonl").read_text().splitlines()
    picked = [line for line in lines if line.strip() and json.loads(line)["doc_ids"][0] in DOCS]
    (folder / "golden.jsonl").write_text("\n".join(picked) + "\n")
    return folder / "golden.jsonl"


def test_the_gate_keeps_answer_diffs_fails_over_thresholds_and_serves_them(
    client_factory: ClientFactory, golden: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_factory(golden_set=golden, gate_max_lost_source=0, gate_max_newly_refused=0)
    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_DIR, edited)
    leave = edited / "people/annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "26 working days"))

    passed = _build(client, edited)
    assert passed["version"] == 2 and passed["promoted"] is True, passed["promotion"]
    answers = passed["gate"]["answers"]
    assert answers["live_version"] == 1 and answers["questions"] == 21
    assert answers["thresholds"] == {"max_lost_source": 0, "max_newly_refused": 0}
    assert answers["summary"]["changed"] >= 1
    assert (answers["summary"]["lost_source"], answers["summary"]["newly_refused"]) == (0, 0)
    assert answers["stale"] == ["a01"]  # the question on the entitlement whose number changed

    worse = tmp_path / "worse"
    shutil.copytree(edited, worse)
    (worse / "it/equipment.md").unlink()
    (worse / "compliance/whistleblowing.pdf").unlink()
    (worse / "people/sick-leave.md").write_text("# Cafeteria\n\nThe cafeteria serves soup on Mondays.\n")
    held = _build(client, worse)
    assert held["version"] == 3 and held["promoted"] is False
    gate = held["gate"]
    summary = gate["answers"]["summary"]
    assert gate["passed"] is False and gate["answers"]["passed"] is False and gate["answers"]["live_version"] == 2
    assert summary["lost_source"] >= 10 and summary["newly_refused"] >= 1
    assert f"{summary['lost_source']} answers lose their expected source > max 0" in gate["reasons"]
    assert f"{summary['newly_refused']} answers newly refused > max 0" in gate["reasons"]
    # the manifest keeps the summary and the thresholds in force; the items are in their own table
    manifest = next(v for v in client.get(BASE).json() if v["version"] == 3)["manifest"]
    kept = manifest["evaluation"]["gate"]["answers"]
    assert kept["thresholds"] == {"max_lost_source": 0, "max_newly_refused": 0} and "items" not in kept

    r = client.get(f"{BASE}/3/answer-diff")
    assert r.status_code == 200, r.text
    diff = r.json()
    assert (diff["version"], diff["live_version"], diff["passed"]) == (3, 2, False)
    assert diff["summary"] == summary and diff["answerer"].startswith("extractive/")
    assert diff["summary"]["text"].startswith(f"{summary['changed']} answers change, {summary['lost_source']} lose")
    items = {i["id"]: i for i in diff["items"]}
    assert len(items) == 21
    assert sum(i["lost_source"] for i in items.values()) == summary["lost_source"]
    lost = next(i for i in items.values() if i["lost_source"] and i["expected"] == ["it/equipment.md"])
    assert lost["live"]["cites_expected"] and lost["live"]["expected_rank"] == 1
    assert lost["candidate"]["expected_rank"] is None  # the document is gone
    assert any(c["doc"] == "it/equipment.md" for c in lost["live"]["cited"])
    assert not any(c["doc"] == "it/equipment.md" for c in lost["candidate"]["cited"])
    stale = {s["id"]: s for s in diff["stale"]}
    assert stale[lost["id"]]["reason"] == "removed"
    assert {s["reason"] for s in stale.values()} == {"removed", "passage_changed"}  # sick leave: replaced
    changed = client.get(f"{BASE}/3/answer-diff", params={"changed_only": "true"}).json()["items"]
    assert len(changed) == summary["changed"] and all(i["changed"] for i in changed)

    # owners of the index see it; employees do not, nor owners of another index
    owner = create_key_headers(client, "owner", indexes=["policies"], name="owner")
    assert client.get(f"{BASE}/3/answer-diff", headers=owner).json()["summary"] == summary
    for headers in (create_key_headers(client, "employee"), create_key_headers(client, "owner", indexes=["other"])):
        denied = client.get(f"{BASE}/3/answer-diff", headers=headers)
        assert (denied.status_code, denied.json()["error"]["code"]) == (403, "forbidden")

    # the CLI lists the stale golden questions of the newest diffed version, or of a named one
    monkeypatch.setenv("RAG_DATA_DIR", str(client.app.state.services.settings.data_dir))  # type: ignore[attr-defined]
    listed = CliRunner().invoke(cli, ["golden", "stale", "policies"])
    assert listed.exit_code == 0, listed.output
    assert f"policies@3 against v2: {len(stale)} golden questions stale" in listed.output
    assert all(qid in listed.output for qid in stale)
    older = CliRunner().invoke(cli, ["golden", "stale", "policies", "--version", "2"])
    assert "1 golden questions stale" in older.output and "a01  people/annual-leave.md  passage_changed" in older.output
    missing = CliRunner().invoke(cli, ["golden", "stale", "policies", "--version", "1"])
    assert missing.exit_code == 1 and "no answer diff for policies@1" in missing.output


def test_answer_diff_bad_input(client_factory: ClientFactory) -> None:
    client = client_factory(worker_enabled=False)
    for url, status, code in (
        (f"{BASE}/99/answer-diff", 404, "version_not_found"),
        (f"{BASE}/1/answer-diff", 404, "answer_diff_not_found"),  # built, never gated with a diff
        ("/v1/indexes/handbook/versions/1/answer-diff", 404, "index_not_found"),
    ):
        r = client.get(url)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        assert r.json()["error"]["message"]
    for bad in ("0", "x", str(2**31)):
        assert client.get(f"{BASE}/{bad}/answer-diff").status_code == 422
