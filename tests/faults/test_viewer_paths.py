"""The document viewer's links (issue 10, item 13): no value of a ``/view?...`` link may become a
``.`` or ``..`` path segment, which the browser would resolve into another API route and call with
the stored key. The viewer asks for the document with its id as a query parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.faults import edge_apps
from tests.faults.edge_apps import EdgeClients
from tests.support.live_server import LiveServer
from tests.web import test_pages as pages
from tests.web.browser import chromium_missing

edge_clients = edge_apps.edge_clients  # fixture
DOC = "people/working-hours-and-public-holidays.html"  # a doc id with a folder in it


def test_the_document_route_takes_the_doc_id_as_a_query_parameter(edge_clients: EdgeClients) -> None:
    client: TestClient = edge_clients(worker_enabled=False)
    by_path = client.get(f"/v1/indexes/policies/versions/1/documents/{DOC}")
    by_query = client.get("/v1/indexes/policies/versions/1/document", params={"doc_id": DOC})
    assert by_path.status_code == 200 and by_query.status_code == 200 and by_query.json() == by_path.json()
    for hostile in ("../../../../../keys", "..", "."):
        r = client.get("/v1/indexes/policies/versions/1/document", params={"doc_id": hostile})
        assert r.status_code == 404 and r.json()["error"]["code"] == "document_not_found", hostile


browser_only = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")
server, browser = pages.server, pages.browser  # module-scoped fixtures: the app served, chromium


@pytest.fixture()
def requests_of(browser: Any, server: LiveServer) -> Iterator[tuple[Any, list[str]]]:
    """A page holding the admin key, and the path (with query) of every request it sends."""
    context = browser.new_context()
    context.add_init_script(f"localStorage.setItem('policy-assistant.api-key', {server.admin_key!r});")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(30_000)
    sent: list[str] = []
    page.on("request", lambda req: sent.append(urlsplit(req.url).path))
    yield page, sent
    context.close()


@pytest.mark.browser
@browser_only
@pytest.mark.parametrize(
    "link",
    [
        "/view?index=policies&version=1&doc=../../../../../keys",
        "/view?index=policies&version=1&doc=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/keys",
        "/view?index=..&version=..&doc=../keys",
        "/view?index=policies&version=1/../../../../keys%3F&doc=x",
    ],
)
def test_a_crafted_viewer_link_calls_no_other_route(
    requests_of: tuple[Any, list[str]], server: LiveServer, link: str
) -> None:
    page, sent = requests_of
    page.goto(server.url + link)
    pages.expect(page.locator("#doc-meta")).to_contain_text(re.compile("cannot be shown|no valid index"))
    api_calls = [p for p in sent if p.startswith("/v1/")]
    assert all(p == "/v1/indexes/policies/versions/1/document" for p in api_calls), api_calls
    assert not any(p.startswith("/v1/keys") for p in sent)


@pytest.mark.browser
@browser_only
def test_a_viewer_link_with_a_folder_in_its_doc_id_still_shows_the_document(
    requests_of: tuple[Any, list[str]], server: LiveServer
) -> None:
    page, sent = requests_of
    page.goto(f"{server.url}/view?index=policies&version=1&doc={DOC}")
    pages.expect(page.locator("#doc-title")).to_have_text("Working Hours and Public Holidays Policy")
    assert "/v1/indexes/policies/versions/1/document" in sent
