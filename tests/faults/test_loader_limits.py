"""Issue 10 item 4: no file can hold a build. A small DOCX that expands to hundreds of MB, or holds
too many paragraphs, or takes too long, fails by name in the build report; cancel takes effect
within seconds while a file is loading, and the job's lease is renewed meanwhile.

The hostile files are generated in the test (small on disk) and deleted with ``tmp_path``.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.loaders import LimitExceeded, LoadCancelled, LoadLimits, load_document
from tests.api import conftest as api_fixtures
from tests.api.conftest import ClientFactory
from tests.conftest import SAMPLE_DIR, ServicesFactory
from tests.faults.hostile_docx import write_docx_bomb

client_factory = api_fixtures.client_factory  # the API tests' app-with-lifespan fixture


def _until(what: str, check: Any, timeout: float) -> Any:
    """Poll ``check()`` until it returns something truthy; fail saying ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_docx_bomb_fails_by_name_before_it_is_unzipped(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    expanded = write_docx_bomb(bomb, 2_200_000)  # ~150 MB of paragraphs
    assert bomb.stat().st_size < 2_000_000 < 100_000_000 < expanded
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as raised:
        load_document(bomb, "hr/bomb.docx")  # the default limits
    assert time.monotonic() - started < 2.0
    assert raised.value.source == "hr/bomb.docx"
    assert "load_max_expanded_bytes" in raised.value.reason and str(expanded) in raised.value.reason


def test_paragraph_and_time_limits_fail_the_file(tmp_path: Path) -> None:
    many = tmp_path / "many.docx"
    write_docx_bomb(many, 300)
    with pytest.raises(LimitExceeded, match="load_max_blocks"):
        load_document(many, "many.docx", limits=LoadLimits(max_blocks=100))
    with pytest.raises(LimitExceeded, match="load_max_seconds"):
        load_document(many, "many.docx", limits=LoadLimits(max_seconds=1e-9))  # out of time at the first block
    stops = iter([False, False, True])
    with pytest.raises(LoadCancelled):
        load_document(many, "many.docx", should_stop=lambda: next(stops))
    assert load_document(many, "many.docx").text.count("Padding paragraph") == 300


def test_an_html_page_counts_its_paragraphs_and_rows_against_the_limit(tmp_path: Path) -> None:
    page = tmp_path / "many.html"
    rows = "".join(f"<tr><td>Row {i}</td><td>value</td></tr>" for i in range(150))
    page.write_text(f"<html><body><p>Intro.</p><table>{rows}</table></body></html>")
    with pytest.raises(LimitExceeded, match="load_max_blocks"):
        load_document(page, "many.html", limits=LoadLimits(max_blocks=100))
    assert load_document(page, "many.html", limits=LoadLimits(max_blocks=151)).text.count("| value |") == 150
    markdown = tmp_path / "many.md"  # the same table inside a Markdown page
    markdown.write_text(f"# Rows\n\n<table>{rows}</table>\n")
    with pytest.raises(LimitExceeded, match="load_max_blocks"):
        load_document(markdown, "many.md", limits=LoadLimits(max_blocks=100))


def test_a_build_reports_a_hostile_file_by_name_and_builds_the_rest(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    (source / "people").mkdir(parents=True)
    (source / "people" / "annual-leave.md").write_bytes((SAMPLE_DIR / "people" / "annual-leave.md").read_bytes())
    write_docx_bomb(source / "people" / "bomb.docx", 1_000_000)  # ~40 MB unzipped
    services = services_factory(tmp_path / "data")
    result = services.builder.build("policies", source)
    errors = {e.source: e.error for e in result.manifest.errors}
    assert set(errors) == {"people/bomb.docx"} and "load_max_expanded_bytes" in errors["people/bomb.docx"]
    assert [d.source for d in result.manifest.documents] == ["people/annual-leave.md"]


def _job(client: TestClient, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return job


def test_cancel_and_the_lease_work_while_a_slow_file_loads(client_factory: ClientFactory, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    # python-docx needs many minutes for this file (its paragraph walk is quadratic); within the limits
    write_docx_bomb(source / "slow.docx", 200_000)
    client = client_factory(load_max_blocks=10_000_000, load_max_seconds=3600, job_stale_after_s=5)
    job_id = client.post("/v1/indexes/policies/builds", json={"source": str(source)}).json()["job_id"]
    loading = _until(
        "the job to start loading slow.docx",
        lambda: (j := _job(client, job_id))["progress"].get("file") == "slow.docx" and j,
        60,
    )
    first = datetime.fromisoformat(loading["heartbeat_at"])
    # the lease is renewed while the file loads, by the lease thread
    _until(
        "a lease renewal during loading",
        lambda: datetime.fromisoformat(_job(client, job_id)["heartbeat_at"]) > first,
        10,
    )
    assert _job(client, job_id)["state"] == "running"
    asked = time.monotonic()
    assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    done = _until("the job to be cancelled", lambda: (j := _job(client, job_id))["state"] != "running" and j, 15)
    assert done["state"] == "cancelled", done
    assert time.monotonic() - asked < 15
    assert client.get("/v1/indexes").json()[0]["live_version"] == 1
    building = [v for v in client.get("/v1/indexes/policies/versions").json() if v["state"] == "building"]
    assert building == []
