"""The Confluence source against a loopback server speaking the Cloud REST API v2 (spaces, cursor-paginated pages in
storage format, labels, Basic authentication)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.source_sync.staging import stage
from ingest.sources.confluence import ConfluenceSource
from rag.errors import SourceError
from tests.conftest import ServicesFactory
from tests.support.confluence_server import API_TOKEN, EMAIL, ConfluenceTestServer, Page


@pytest.fixture(scope="module")
def server() -> Iterator[ConfluenceTestServer]:
    with ConfluenceTestServer() as s:
        yield s


@pytest.fixture()
def confluence(server: ConfluenceTestServer) -> ConfluenceTestServer:
    server.fail_after_first_page = False
    server.pages = {
        str(n): Page(str(n), f"Policy {n}", f"<h2>Rule {n}</h2><p>Staff must follow rule number {n}.</p>")
        for n in range(101, 106)
    }
    server.pages["103"].labels = ["hr-only", "leave"]
    server.pages["104"].status = "archived"
    return server


def test_read_restricted_pages_are_left_out_and_named(confluence: ConfluenceTestServer) -> None:
    confluence.pages["105"].read_groups = ["confluence-hr-managers"]
    snap = source(confluence).snapshot()
    assert [d.name for d in snap.documents] == ["101.html", "102.html", "103.html"]
    assert snap.skipped == ["105.html (read-restricted: Policy 105)"]


def source(server: ConfluenceTestServer, credentials: str = f"{EMAIL}:{API_TOKEN}") -> ConfluenceSource:
    return ConfluenceSource(
        server.url, "HR", credentials=credentials, label_groups={"hr-only": ["hr"]}, page_limit=2, timeout_s=10
    )


def test_pages_are_listed_across_pages_of_the_listing(confluence: ConfluenceTestServer) -> None:
    src = source(confluence)
    snap = src.snapshot()
    assert [d.name for d in snap.documents] == ["101.html", "102.html", "103.html", "105.html"]  # archived left out
    assert sum("/pages?" in r and "cursor=" in r for r in confluence.requests) >= 1  # the cursor was followed
    hr = next(d for d in snap.documents if d.name == "103.html")
    assert hr.revision == "1" and hr.metadata["access_groups"] == ["hr"]
    assert hr.metadata["revision"] == {"page_id": "103", "version": 1, "labels": ["hr-only", "leave"]}
    assert "access_groups" not in snap.documents[0].metadata
    body = src.read(hr).decode()
    assert "<title>Policy 103</title>" in body and "rule number 103" in body


def test_edits_and_deletions_move_the_revision(confluence: ConfluenceTestServer) -> None:
    src = source(confluence)
    seen = src.revision()
    assert not src.changed_since(seen)
    assert src.revision() == src.snapshot().revision  # the cheap listing and the full one agree
    confluence.pages["102"].version = 2
    confluence.pages["102"].body = "<p>Rule 102 changed.</p>"
    edited = src.revision()
    assert edited != seen
    del confluence.pages["101"]
    assert src.revision() not in (seen, edited)
    assert [d.name for d in src.snapshot().documents] == ["102.html", "103.html", "105.html"]


def test_refused_credentials_cut_listings_and_unknown_spaces_are_errors(confluence: ConfluenceTestServer) -> None:
    with pytest.raises(SourceError, match="credentials were refused") as caught:
        source(confluence, f"{EMAIL}:wrong").snapshot()
    assert API_TOKEN not in caught.value.message
    confluence.fail_after_first_page = True
    with pytest.raises(SourceError, match="failed after 2 results"):
        source(confluence).snapshot()
    confluence.fail_after_first_page = False
    with pytest.raises(SourceError, match="no such space"):
        ConfluenceSource(confluence.url, "NOPE", credentials=f"{EMAIL}:{API_TOKEN}").revision()


def test_pages_build_through_the_html_loader_with_their_groups(
    confluence: ConfluenceTestServer, services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory(worker_enabled=False)
    src = source(confluence)
    files = stage(src, src.snapshot(), tmp_path / "stage", max_bytes=1_000_000)
    manifest = s.builder.build("wiki", files=files, source_label=src.label, source_revision=src.revision()).manifest
    assert manifest.source == f"confluence {confluence.url} space HR" and manifest.source_revision == src.revision()
    docs = {d.source: d for d in manifest.documents}
    assert docs["103.html"].title == "Policy 103" and docs["103.html"].metadata["access_groups"] == ["hr"]
    assert docs["101.html"].metadata["access_groups"] == ["everyone"]
