"""The ask page with a model: a sentence the cited source does not support is marked, and a second
question is sent as a follow-up of the first (the model makes it standalone)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.api.test_checked_answers import planted
from tests.conftest import make_settings
from tests.support.live_server import LiveServer
from tests.support.openai_server import OpenAITestServer
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, chromium_missing

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect

QUESTION = "How many days of annual leave do full-time employees get?"
ANSWER = (
    "Full-time employees get 28 working days of paid annual leave per calendar year [{n}]. "
    "Unused days are paid out in cash every December."
)


@pytest.fixture(scope="module")
def model() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    built_sample: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory, model: OpenAITestServer
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("web-model") / "data"
    shutil.copytree(built_sample, data_dir)
    settings = make_settings(data_dir, llm_model="policy-model", llm_base_url=model.base_url, llm_max_retries=0)
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with LiveServer(app) as live:
        live.admin_key = app.state.services.keys.create("web-admin", "admin", [], []).secret  # type: ignore[attr-defined]
        yield live
    shutil.rmtree(data_dir, ignore_errors=True)


def test_a_flagged_sentence_is_marked_and_a_follow_up_keeps_the_conversation(
    server: LiveServer, model: OpenAITestServer
) -> None:
    model.respond_with(planted(ANSWER))
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            key = server.admin_key  # type: ignore[attr-defined]
            context.add_init_script(f"localStorage.setItem('policy-assistant.api-key', {key!r});")
            page: Any = context.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.url + "/")
            box = page.get_by_label("Your question about company policies")
            box.fill(QUESTION)
            box.press("Enter")
            expect(page.locator("#answered-by")).to_contain_text("openai:policy-model")
            flagged = page.locator("#answer mark.unsupported")
            expect(flagged).to_have_count(1)
            expect(flagged).to_contain_text("paid out in cash")
            assert "cites no source" in (flagged.get_attribute("title") or "")
            expect(page.locator("#unsupported")).to_be_visible()
            assert "28 working days" not in flagged.inner_text()  # the supported sentence is not marked

            # the next question is a follow-up: the page sends the first turn along
            expect(page.locator("#conversation-turns li")).to_have_text([QUESTION])
            box.fill("And for part-timers?")
            box.press("Enter")
            expect(page.locator("#standalone")).to_contain_text(
                "Understood as: How many days of annual leave do part-time employees get?"
            )
            prompts = [r.prompt for r in model.requests]
            assert any("Last question: And for part-timers?" in p and QUESTION in p for p in prompts)
            page.get_by_role("button", name="New conversation").click()
            expect(page.locator("#conversation")).to_be_hidden()
            assert errors == [], json.dumps(errors)
        finally:
            browser.close()
