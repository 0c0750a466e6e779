"""The web pages in a real browser (Debian's chromium, headless) against the app served by uvicorn.

Ask: the answer streams in, citations open their passage and the document, feedback is stored, an
uncovered question says so. Admin: promote a version and roll back, and the alias moves; a build
started from the page is followed to its end; a gated version's answer diff opens side by side.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from api.app import create_app
from indexes.manifest import Manifest
from ingest.embedding import Embedder
from ingest.sources.specs import FolderSpec
from rag.evaluation.answer_diff import diff_questions
from rag.evaluation.answer_gate import AnswerThresholds, answer_gate
from rag.evaluation.gate import gate_evaluation
from rag.evaluation.golden import load_golden_set
from rag.wiring import Services, build_services
from tests.conftest import SAMPLE_DIR, make_settings
from tests.support.live_server import LiveServer
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, chromium_missing

if TYPE_CHECKING:  # a dev dependency: the module is skipped, never fails to import, without it
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect

QUESTION = "How many days of annual leave do full-time employees get?"


@pytest.fixture(scope="module")
def server(built_sample: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over a private copy of the built sample, with a second (unpromoted) version built
    and the sample folder as the index's source."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    shutil.copytree(built_sample, data_dir)
    # Every refresh of the admin page makes some eight API calls with the one admin key: the tests of this
    # module make more than the default 120 a minute, and rate limits are not what they test.
    settings = make_settings(data_dir, rate_limit="1000/minute")
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with LiveServer(app) as live:
        services: Services = app.state.services
        services.builder.build("policies", SAMPLE_DIR, promote=False)  # v2: every vector reused from v1
        services.documents.set_source("policies", SAMPLE_DIR)  # what build jobs read
        live.app = app  # type: ignore[attr-defined]
        # auth is on, as in production: the pages get an admin key the way a person would paste one
        live.admin_key = services.keys.create("web-admin", "admin", [], []).secret  # type: ignore[attr-defined]
        yield live


def _services(server: LiveServer) -> Services:
    services: Services = server.app.state.services  # type: ignore[attr-defined]
    return services


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _with_key(context: Any, key: str) -> None:
    """Every page of ``context`` starts with ``key`` stored where the pages keep the API key."""
    context.add_init_script(f"localStorage.setItem('policy-assistant.api-key', {key!r});")


@pytest.fixture()
def page(browser: Any, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    _with_key(context, server.admin_key)  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg: Any) -> None:  # CSP violations and failed loads show up here
        expected = msg.location.get("url", "").endswith("/v1/me")  # 404 while auth is off: expected
        if msg.type == "error" and not expected:
            errors.append(f"{msg.text} ({msg.location.get('url')})")

    pg.on("console", on_console)
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_ask_streams_an_answer_with_citations_and_stores_feedback(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Your question about company policies").fill(QUESTION)
    page.get_by_label("Your question about company policies").press("Enter")
    expect(page.locator("#answered-by")).to_contain_text("Answered by policies version 1 (live)")
    assert int(page.locator("#answer").get_attribute("data-deltas") or 0) >= 2  # it arrived in pieces
    answer = page.locator("#answer")
    expect(answer).to_contain_text("28 working days")
    assert page.locator("#answer button.marker").count() >= 1
    sources = page.locator("#citations li")
    assert sources.count() >= 1
    expect(page.locator("#not-covered")).to_be_hidden()

    # open citation 1: the quoted passage with title, heading path and source
    page.locator("#answer button.marker").first.click()
    dialog = page.locator("#citation-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#citation-title")).to_contain_text("Annual Leave Policy")
    expect(dialog.locator("#citation-where")).to_contain_text("people/annual-leave.md")
    quote = dialog.locator("#citation-quote").inner_text()
    assert quote and quote in answer.inner_text()
    dialog.get_by_role("link", name="View the document").click()  # same tab
    expect(page.locator("#doc-title")).to_have_text("Annual Leave Policy")
    expect(page.locator("mark#cited")).to_contain_text(quote)
    page.go_back()

    # feedback: thumbs down with a comment, stored with the answer
    page.get_by_label("Your question about company policies").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#answered-by")).to_contain_text("version 1")
    page.get_by_role("button", name="Not helpful").click()
    page.get_by_label("Comment (optional)").fill("Please mention part-time rules")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-status")).to_contain_text("saved")
    (stored,) = list(_services(server).feedback.iter_all())
    assert stored.rating == "down" and stored.comment == "Please mention part-time rules"
    assert stored.answer["question"] == QUESTION and stored.answer["index"]["version"] == 1


def test_keyboard_only_ask_and_citation(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.type("How long must passwords be?")
    page.keyboard.press("Enter")
    expect(page.locator("#answered-by")).to_contain_text("version 1")
    marker = page.locator("#answer button.marker").first
    marker.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#citation-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#citation-dialog")).to_be_hidden()


def test_pages_fit_a_phone_screen(server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    _with_key(context, server.admin_key)  # type: ignore[attr-defined]
    try:
        phone = context.new_page()
        for path in ("/", "/admin"):
            phone.goto(server.url + path)
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} scrolls sideways on a phone ({width}px wide)"
    finally:
        context.close()


def test_an_uncovered_question_says_so(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Your question about company policies").fill("What is the capital of Mongolia?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#not-covered")).to_be_visible()
    expect(page.locator("#not-covered")).to_contain_text("do not cover")
    assert page.locator("#citations li").count() == 0
    expect(page.locator("#feedback")).to_be_visible()


def test_ask_as_of_a_date_and_open_the_receipt(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/")
    # the sample has one live version so far: nothing has changed, and the list stays hidden
    page.wait_for_load_state("networkidle")
    expect(page.locator("#recent")).to_be_hidden()
    live = _services(server).registry.live_version("policies")
    page.get_by_label("As of").fill(datetime.now(UTC).date().isoformat())
    page.get_by_label("Your question about company policies").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#answered-by")).to_contain_text(f"Answered by policies version {live} (as of ")
    expect(page.locator("#answered-by")).to_contain_text("until now")

    page.get_by_role("link", name="Receipt").click()
    dialog = page.locator("#receipt-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#receipt-summary")).to_contain_text(f"policies version {live}")
    expect(dialog.locator("#receipt-summary")).to_contain_text("quotes at [1]")
    assert '"document_hash"' in dialog.locator("#receipt-json").inner_text()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_admin_promotes_and_rolls_back(server: LiveServer, page: Page) -> None:
    registry = _services(server).registry
    assert registry.live_version("policies") == 1
    page.goto(server.url + "/admin")
    expect(page.locator("#who")).to_contain_text("web-admin (admin)")  # from /v1/me, with the stored key
    expect(page.locator("#versions tr[data-version='2']")).to_be_visible()
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("live")
    expect(page.locator("#jobs")).to_be_attached()
    page.get_by_role("button", name="Promote v2").click()
    expect(page.locator("#message")).to_contain_text("now names version 2")
    assert registry.live_version("policies") == 2
    expect(page.locator("#versions tr[data-version='2']")).to_contain_text("live")

    page.get_by_role("button", name="Roll back to the previous version").click()
    expect(page.locator("#message")).to_contain_text("now names version 1")
    assert registry.live_version("policies") == 1
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("live")

    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#diff")).to_contain_text("v1 → v2")


def test_admin_sets_and_removes_a_canary(server: LiveServer, page: Page) -> None:
    registry = _services(server).registry
    page.goto(server.url + "/admin")
    expect(page.locator("#versions tr[data-version='2']")).to_be_visible()
    page.get_by_label("Canary version").select_option("2")
    page.get_by_label("Share of questions (%)").fill("25")
    page.get_by_role("button", name="Set canary").click()
    expect(page.locator("#message")).to_contain_text("policies:canary now names version 2 for 25%")
    canary = registry.canary("policies")
    assert canary is not None and (canary.version, canary.share) == (2, 0.25)
    expect(page.locator("#alias-line")).to_contain_text("25% of questions")
    expect(page.locator("#versions tr[data-version='2']")).to_contain_text("canary")
    page.get_by_role("button", name="Remove canary").click()
    expect(page.locator("#message")).to_contain_text("Canary v2 removed")
    assert registry.canary("policies") is None


def test_admin_lists_releases_compares_two_and_promotes_one(server: LiveServer, browser: Any) -> None:
    # a key of its own: the requests of this test do not count against the shared key's rate limit
    key = _services(server).keys.create("web-releases", "admin", [], []).secret
    headers = {"Authorization": f"Bearer {key}"}
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    _with_key(context, key)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    registry = _services(server).registry
    live = registry.live_release("policies")
    assert live is not None
    made = httpx.post(
        f"{server.url}/v1/indexes/policies/releases",
        json={"prompt": "answer/v1", "settings": {"top_k": 4}},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    try:
        page.goto(server.url + "/admin")
        row = page.locator(f"#releases tr[data-release='{number}']")
        expect(row).to_contain_text("answer/v1")
        expect(row).to_contain_text("top 4")
        expect(page.locator(f"#releases tr[data-release='{live.number}']")).to_contain_text("live")
        page.get_by_label("Release", exact=True).select_option(str(live.number))
        page.get_by_label("against release").select_option(str(number))
        page.get_by_role("button", name="Show differences").click()
        diff = page.locator("#release-diff")
        expect(diff.locator("li[data-field='prompt']")).to_have_text("prompt: answer/v2 → answer/v1")
        expect(diff.locator("li[data-field='settings.top_k']")).to_contain_text("→ 4")
        page.get_by_role("button", name=f"Promote release {number}").click()
        expect(page.locator("#message")).to_contain_text(f"now names release {number}")
        assert registry.live_release("policies").number == number  # type: ignore[union-attr]
        expect(row).to_contain_text("live")
    finally:
        context.close()
        if registry.live_release("policies") != live:
            registry.promote_release("policies", live.number)
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_admin_shows_the_canary_analysis_with_a_chart(server: LiveServer, page: Page) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}  # type: ignore[attr-defined]
    policy = {"min_questions": 1000, "min_duration_s": 3600}
    r = httpx.post(
        f"{server.url}/v1/indexes/policies/canary", json={"version": 2, "share": 0.5, "policy": policy}, headers=headers
    )
    assert r.status_code == 200, r.text
    try:
        for _ in range(12):
            assert (
                httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION}, headers=headers, timeout=60).status_code
                == 200
            )
        services = _services(server)
        deadline = time.monotonic() + 20
        while sum(t.questions for t in services.canary.status("policies").tallies.values()) < 12:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        page.goto(server.url + "/admin")
        section = page.locator("#canary-section")
        expect(section).to_contain_text("Canary v2 since")
        expect(section).to_contain_text("no verdict")
        expect(section.get_by_role("row", name="Questions")).to_be_visible()
        expect(section.locator("svg.canary-chart polyline").first).to_be_attached()
    finally:
        httpx.delete(f"{server.url}/v1/indexes/policies/canary", headers=headers)


def test_admin_builds_and_follows_the_job(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/admin")
    expect(page.locator("#versions tr[data-version='2']")).to_be_visible()
    page.get_by_label("Promote", exact=True).select_option("never")
    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.locator("#message")).to_contain_text("Build queued")
    # the page polls the job until it finishes, then reloads the versions
    job = page.locator("#jobs tr").first
    expect(job).to_contain_text("succeeded", timeout=120_000)
    expect(job).to_contain_text("reused")
    expect(page.locator("#versions tr[data-version='3']")).to_be_visible()
    assert _services(server).registry.live_version("policies") == 1  # promote: never


def test_admin_shows_the_source_and_its_checks(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/admin")
    source = page.locator("#source")
    expect(source).to_contain_text(f"folder {SAMPLE_DIR}")
    expect(source).to_contain_text("not scheduled")
    _services(server).sources.bind("policies", FolderSpec(folder=str(SAMPLE_DIR), every="15m"))
    _services(server).sources.bindings.record_check(
        "policies", datetime.now(UTC), revision="abc", changed=False, error="listing failed: SlowDown"
    )
    page.reload()
    expect(source).to_contain_text("every 15m")
    expect(source.locator("dd.error")).to_have_text("listing failed: SlowDown")
    expect(source.locator("dd").nth(2)).not_to_have_text("never")  # the last check's time


def test_an_employee_sees_no_admin_buttons(server: LiveServer, browser: Any) -> None:
    key = _services(server).keys.create("web-employee", "employee", [], []).secret
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    _with_key(context, key)
    try:
        pg = context.new_page()
        pg.goto(server.url + "/admin")
        expect(pg.locator("#who")).to_contain_text("web-employee (employee)")
        expect(pg.locator("#versions tr[data-version='2']")).to_be_visible()
        expect(pg.get_by_role("button", name="Promote v2")).to_have_count(0)
        expect(pg.get_by_role("button", name="Roll back to the previous version")).to_be_hidden()
    finally:
        context.close()


def test_admin_shows_a_gated_versions_answer_diff_side_by_side(server: LiveServer, page: Page, tmp_path: Path) -> None:
    services = _services(server)
    golden_file = tmp_path / "golden.jsonl"
    golden_file.write_text(
        '{"id": "a01", "question": "How many days of paid vacation do I get each year if I work full time?", '
        '"doc_ids": ["people/annual-leave.md"], "evidence": "28 working days of paid annual leave"}\n'
        '{"id": "a37", "question": "What laptop do engineers get?", "doc_ids": ["it/equipment.md"]}\n'
    )
    golden = load_golden_set(golden_file)
    source = tmp_path / "edited"
    shutil.copytree(SAMPLE_DIR, source)
    (source / "it/equipment.md").unlink()
    leave = source / "people/annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "26 working days"))

    def gate(manifest: Manifest) -> Manifest:
        result = gate_evaluation(services.assistant.retriever, services.registry, "policies", manifest, golden, 0.02)
        result = answer_gate(
            result,
            assistant=services.assistant,
            registry=services.registry,
            texts=services.texts,
            store=services.answer_diffs,
            manifest=manifest,
            golden=golden,
            questions=diff_questions(golden),
            thresholds=AnswerThresholds(max_lost_source=0),
        )
        return manifest.model_copy(update={"evaluation": {**manifest.evaluation, "gate": result}})

    version = services.builder.build("policies", source, finalize=gate).manifest.version
    page.goto(server.url + "/admin")
    section = page.locator("#answers-section")
    expect(section).to_be_visible()
    page.get_by_label("Version", exact=True).select_option(str(version))
    page.get_by_role("button", name="Show answer diff").click()
    expect(page.locator("#answers .answer-summary")).to_contain_text(f"v{version} against v1: ")
    changed = page.locator("#answers details[data-question='a37']")
    expect(changed).to_contain_text("loses its expected source")
    changed.locator("summary").click()
    expect(changed.locator(".side-by-side > div")).to_have_count(2)
    expect(changed.locator(".side-by-side > div").first).to_contain_text("Live v1")
    expect(changed.locator(".side-by-side > div").first).to_contain_text("it/equipment.md")
    expect(page.locator("#answers")).to_contain_text("a37 (it/equipment.md, removed)")
