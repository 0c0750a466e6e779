"""Signing in through the browser (Debian's chromium) with a real OpenID provider on loopback.

The ask page offers "Sign in", the provider's form signs the person in, and the page comes back
knowing who they are, with no token anywhere the page's JavaScript can read (local or session
storage, document.cookie); asking and feedback work with the session cookie and its CSRF token,
a request without the token is refused, and signing out ends the session on the server.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.conftest import make_settings
from tests.support.live_server import LiveServer
from tests.support.oidc_provider import OidcProvider, running_provider
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, chromium_missing

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect

QUESTION = "How many days of annual leave do full-time employees get?"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as p:
        p.set_user("alice", "alice@example.com", ["hr"])
        yield p


@pytest.fixture(scope="module")
def server(
    provider: OidcProvider, built_sample: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("web-sign-in") / "data"
    shutil.copytree(built_sample, data_dir)
    settings = make_settings(
        data_dir,
        worker_enabled=False,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client.client_id,
        oidc_client_secret=provider.client.client_secret,
        session_cookie_secure=False,  # the test server speaks http on loopback
    )
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with LiveServer(app) as live:
        provider.client.redirect_uris.append(f"{live.url}/auth/callback")
        yield live
    shutil.rmtree(data_dir, ignore_errors=True)


def test_sign_in_through_the_browser(server: LiveServer, provider: OidcProvider) -> None:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in_ask_and_sign_out(page, context, server)
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def _sign_in_ask_and_sign_out(page: Any, context: Any, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.locator("#sign-in").click()
    page.locator("#username").fill("alice")  # the provider's own sign-in page
    page.locator("#sign-in").click()
    expect(page.locator("#who")).to_contain_text("alice@example.com (employee)")
    assert page.url == server.url + "/"

    # no token where JavaScript can read it: only the HttpOnly session cookie
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "rag_session" not in page.evaluate("document.cookie")
    (cookie,) = [c for c in context.cookies() if c["name"] == "rag_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_label("Your question about company policies").fill(QUESTION)
    page.get_by_label("Your question about company policies").press("Enter")
    expect(page.locator("#answer")).to_contain_text("28 working days")
    page.get_by_role("button", name="Helpful", exact=True).click()
    page.get_by_role("button", name="Send feedback").click()  # a state change made with the cookie and CSRF token
    expect(page.locator("#feedback-status")).to_contain_text("saved")

    # the same change without the page's CSRF token (what another site could send) is refused
    status = page.evaluate(
        """async () => (await fetch('/v1/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({question: 'How many days of annual leave do I get?'})})).status"""
    )
    assert status == 403

    page.locator("#sign-out").click()
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate("async () => (await fetch('/v1/me')).status") == 401
