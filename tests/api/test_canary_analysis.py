"""Canary analysis through the real app: simulated traffic splits between live and canary, and the
canary is rolled back, promoted, marked ready or left without a verdict by its policy; every decision
is in the alias history, the audit log and a signed webhook delivery (a receiver on loopback)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexes.canary import CANARY_READY_ACTION, CANARY_ROLLED_BACK_ACTION
from rag.assistant import NOT_COVERED
from rag.records import AnswerRecord
from tests.api.conftest import ClientFactory, services_of
from tests.api.test_releases import _small_golden
from tests.conftest import SAMPLE_DIR
from tests.support.openai_server import FAKE_API_KEY, OpenAITestServer
from tests.support.webhook_receiver import WebhookReceiver

BASE = "/v1/indexes/policies"
SECRET = "canary-hook-secret"
QUESTIONS = [
    "How many days of annual leave do I get?",
    "How long must my password be?",
    "What is the daily allowance for travel?",
    "How do I submit an expense claim?",
]
LENIENT_LATENCY = {"latency_p95": 10.0}
"""Equal canaries in these tests: a canary's first question opens its version's shard, and on a busy
machine a few slow answers must not decide a test about rates (latency is tested in tests/rag)."""
MAX_ASKS = 200
"""Bound on the simulated traffic of one test (share 0.5: the expected need is about twice the minimum)."""

BICYCLE_ONLY = """---
title: Bicycle Allowance
doc_id: NW-PEO-099
---

# Bicycle Allowance

Employees who cycle to the office receive a bicycle allowance of 30 euros per month.
"""


@pytest.fixture()
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET, fail_first=1) as receiver:  # the first delivery must be retried
        yield receiver


@pytest.fixture()
def app(client_factory: ClientFactory, hook: WebhookReceiver) -> TestClient:
    return client_factory(
        rate_limit=None,
        canary_check_interval_s=0.2,
        webhook_url=hook.url,
        webhook_signing_secret=SECRET,
    )


def _canary(client: TestClient, policy: dict[str, Any], share: float = 0.5) -> None:
    r = client.post(f"{BASE}/canary", json={"version": 2, "share": share, "policy": policy})
    assert r.status_code == 200, r.text


def _traffic(client: TestClient, per_arm: int) -> tuple[Counter[str], dict[str, list[str]]]:
    """Ask until both arms answered ``per_arm`` questions (bounded); answers counted and their ids by arm."""
    arms: Counter[str] = Counter()
    ids: dict[str, list[str]] = {"live": [], "canary": []}
    for i in range(MAX_ASKS):
        r = client.post("/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
        assert r.status_code == 200, r.text
        arm = "canary" if r.json()["index"]["alias"] == "policies:canary" else "live"
        arms[arm] += 1
        ids[arm].append(r.json()["answer_id"])
        if min(arms["live"], arms["canary"]) >= per_arm:
            return arms, ids
    raise AssertionError(f"{MAX_ASKS} questions gave {dict(arms)}, not {per_arm} per arm")


def _wait(client: TestClient, done: Callable[[dict[str, Any]], bool], timeout_s: float = 20.0) -> dict[str, Any]:
    """The canary analysis once ``done`` holds for it (AssertionError after the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(f"{BASE}/canary").json()
        if done(body):
            return body
        assert time.monotonic() < deadline, (body["run"], body["verdict"])
        time.sleep(0.05)


def _watch_cost(client: TestClient, done: Callable[[dict[str, float]], bool]) -> dict[str, float]:
    """The canary watcher's ``rag_canary_watch_*`` samples from /metrics once ``done`` holds for them."""
    deadline = time.monotonic() + 10
    while True:
        samples = {
            name: float(value)
            for name, value in (
                line.split(" ")
                for line in client.get("/metrics").text.splitlines()
                if line.startswith("rag_canary_watch_")
            )
        }
        if done(samples):
            return samples
        assert time.monotonic() < deadline, samples
        time.sleep(0.05)


def _state(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: body["run"] is not None and body["run"]["state"] == state


def _bicycle_only(tmp_path: Path) -> Path:
    folder = tmp_path / "bicycle-only"
    folder.mkdir()
    (folder / "bicycle.md").write_text(BICYCLE_ONLY)
    return folder


def test_a_canary_that_refuses_more_is_rolled_back(app: TestClient, hook: WebhookReceiver, tmp_path: Path) -> None:
    services = services_of(app)
    services.builder.build("policies", _bicycle_only(tmp_path))  # v2 covers none of the questions
    _canary(app, {"min_questions": 6, "min_duration_s": 3600, "max_worsening": LENIENT_LATENCY})
    _traffic(app, 6)

    body = _wait(app, _state("rolled_back"))
    run = body["run"]
    assert "refusal rate" in run["reason"] and run["reason"].startswith("worse than live")
    assert body["canary_version"] is None and body["live_version"] == 1
    assert body["canary"]["refusal_rate"] >= 0.5 and body["live"]["refusal_rate"] == 0.0
    refusal = next(c for c in body["verdict"]["comparisons"] if c["metric"] == "refusal_rate")
    assert refusal["worse"] and refusal["p_value"] < 0.05
    [summary] = app.get("/v1/indexes").json()
    assert summary["canary_version"] is None

    last = services.catalog.alias_history("policies:canary")[-1]
    assert (last.action, last.version, last.actor, last.reason) == (
        CANARY_ROLLED_BACK_ACTION,
        2,
        "canary-analysis",
        run["reason"],
    )
    assert [d["action"] for d in body["decisions"]][-1] == CANARY_ROLLED_BACK_ACTION
    [entry] = services.audit.entries(action="canary.rollback")
    assert (entry.actor_id, entry.index, entry.target, entry.outcome) == ("canary-analysis", "policies", "v2", "ok")
    assert entry.details["reason"] == run["reason"] and entry.details["worse"] == ["refusal_rate"]

    delivery = hook.wait_for("canary.rolled_back")
    assert delivery.signature_ok and hook.state.attempts >= 2  # signed, and retried after the 503
    assert delivery.body["reason"] == run["reason"]
    assert (delivery.body["index"], delivery.body["canary_version"], delivery.body["live_version"]) == (
        "policies",
        2,
        1,
    )
    # every unpinned question goes to the live version again
    assert app.post("/v1/ask", json={"question": QUESTIONS[0]}).json()["index"]["alias"] == "policies"


def test_a_canary_drawing_more_thumbs_down_is_rolled_back(app: TestClient, hook: WebhookReceiver) -> None:
    services = services_of(app)
    services.builder.build("policies", SAMPLE_DIR)  # v2: the same documents, the same answers
    _canary(
        app,
        {"min_questions": 6, "min_duration_s": 3600, "max_worsening": {**LENIENT_LATENCY, "thumbs_down_rate": 0.05}},
    )
    _, ids = _traffic(app, 6)
    body = _wait(app, lambda b: b["verdict"]["state"] == "holding")  # equal so far, too early to pass
    assert body["canary_version"] == 2

    for arm, rating in (("live", "up"), ("canary", "down")):
        for answer_id in ids[arm]:
            r = app.post(f"/v1/answers/{answer_id}/feedback", json={"rating": rating})
            assert r.status_code == 201, r.text

    body = _wait(app, _state("rolled_back"))
    assert "thumbs down rate" in body["run"]["reason"]
    assert body["canary"]["thumbs_down_rate"] == 1.0 and body["live"]["thumbs_down_rate"] == 0.0
    assert body["canary_version"] is None
    last = services.catalog.alias_history("policies:canary")[-1]
    assert (last.action, last.reason) == (CANARY_ROLLED_BACK_ACTION, body["run"]["reason"])
    [entry] = services.audit.entries(action="canary.rollback")
    assert entry.details["worse"] == ["thumbs_down_rate"]
    assert hook.wait_for("canary.rolled_back").body["reason"] == body["run"]["reason"]


def test_an_equal_canary_is_promoted(app: TestClient, hook: WebhookReceiver) -> None:
    services = services_of(app)
    services.builder.build("policies", SAMPLE_DIR)
    _canary(app, {"min_questions": 6, "min_duration_s": 0, "auto_promote": True, "max_worsening": LENIENT_LATENCY})
    _traffic(app, 6)

    body = _wait(app, _state("promoted"))
    assert body["live_version"] == 2 and body["canary_version"] is None
    assert body["verdict"] is not None and not any(c["worse"] for c in body["verdict"]["comparisons"])
    promoted = services.catalog.alias_history("policies")[-1]
    assert (promoted.action, promoted.version, promoted.actor) == ("promote", 2, "canary-analysis")
    assert promoted.reason is not None
    assert promoted.reason == body["run"]["reason"] and "no metric worse" in promoted.reason
    [entry] = services.audit.entries(action="canary.promote")
    assert (entry.outcome, entry.target) == ("ok", "v2")
    delivery = hook.wait_for("canary.promoted")
    assert delivery.signature_ok and delivery.body["live_version"] == 2


def test_a_status_read_during_a_promotion_never_shows_a_promoted_run_with_its_canary(
    app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The promotion lands between the status's two reads (its first read returns what it found, then
    the alias moves and the run is marked promoted, in the watcher's order)."""
    services = services_of(app)
    services.builder.build("policies", SAMPLE_DIR)
    _canary(app, {"min_questions": 1000, "min_duration_s": 0, "auto_promote": True})
    watch = services.canary
    run = watch.runs.active("policies")
    assert run is not None
    first_read = True

    def promote_after(read: Callable[[str], Any]) -> Callable[[str], Any]:
        def wrapped(index: str) -> Any:
            nonlocal first_read
            found = read(index)
            if first_read:
                first_read = False
                services.registry.promote("policies", 2, actor="canary-analysis", reason="test")
                watch.runs.finish(run.id, "promoted", "test")
            return found

        return wrapped

    monkeypatch.setattr(watch.registry, "canary", promote_after(watch.registry.canary))
    monkeypatch.setattr(watch.runs, "latest", promote_after(watch.runs.latest))
    status = watch.status("policies")
    assert not first_read  # the promotion did land mid-read
    assert status.run is not None
    assert not (status.run.state == "promoted" and status.canary is not None), (status.run.state, status.canary)


def test_a_canary_that_holds_without_auto_promote_is_marked_ready(app: TestClient, hook: WebhookReceiver) -> None:
    services = services_of(app)
    services.builder.build("policies", SAMPLE_DIR)
    _canary(app, {"min_questions": 5, "min_duration_s": 0, "auto_promote": False, "max_worsening": LENIENT_LATENCY})
    _traffic(app, 5)

    body = _wait(app, _state("ready"))
    assert (body["live_version"], body["canary_version"]) == (1, 2)  # nothing moved: a person decides
    ready = services.catalog.alias_history("policies:canary")[-1]
    assert (ready.action, ready.reason) == (CANARY_READY_ACTION, body["run"]["reason"])
    assert len(services.audit.entries(action="canary.ready")) == 1
    assert hook.wait_for("canary.ready").signature_ok


def test_too_little_traffic_gives_no_verdict(app: TestClient, hook: WebhookReceiver, tmp_path: Path) -> None:
    services = services_of(app)
    services.builder.build("policies", _bicycle_only(tmp_path))  # would be rolled back with enough traffic
    _canary(app, {"min_questions": 50, "min_duration_s": 0, "auto_promote": True})
    arms, _ = _traffic(app, 3)

    body = _wait(app, lambda b: b["live"]["questions"] + b["canary"]["questions"] == sum(arms.values()))
    assert body["verdict"]["state"] == "no_verdict" and "too little traffic" in body["verdict"]["reason"]
    assert body["verdict"]["comparisons"] == []
    assert (body["run"]["state"], body["canary_version"], body["live_version"]) == ("running", 2, 1)
    assert [d["action"] for d in body["decisions"]] == []
    # what the watcher spent on them is on /metrics: every answer observed, busy and CPU time counted
    cost = _watch_cost(app, lambda c: c["rag_canary_watch_observations_total"] == sum(arms.values()))
    assert cost["rag_canary_watch_batches_total"] >= 1
    assert cost["rag_canary_watch_cpu_seconds_total"] > 0 and cost["rag_canary_watch_busy_seconds_total"] > 0
    assert 0 < cost["rag_canary_watch_longest_batch_seconds"] <= cost["rag_canary_watch_busy_seconds_total"]
    assert services.audit.entries(action="canary.rollback") == []
    assert hook.deliveries == []
    # a person removing the canary ends the run
    assert app.delete(f"{BASE}/canary").status_code == 200
    assert app.get(f"{BASE}/canary").json()["run"]["state"] == "removed"


BAD_POLICIES: list[dict[str, Any]] = [
    {"confidence": 2},
    {"confidence": 0.2},
    {"min_questions": 0},
    {"min_duration_s": -1},
    {"max_worsening": {"refusal_rate": 1.5}},
    {"max_worsening": {"happiness": 0.1}},
    {"auto_promote": "yes"},
    {"unknown": 1},
]


def test_bad_policy_input_is_refused_and_changes_nothing(client: TestClient) -> None:
    for policy in BAD_POLICIES:
        r = client.post(f"{BASE}/canary", json={"version": 1, "share": 0.5, "policy": policy})
        assert r.status_code == 422, (policy, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error" and error["message"], policy
    body = client.get(f"{BASE}/canary").json()
    assert (body["canary_version"], body["run"], body["decisions"]) == (None, None, [])


def test_canary_analysis_of_an_unknown_index_is_404(client: TestClient) -> None:
    r = client.get("/v1/indexes/nothing-here/canary")
    assert r.status_code == 404 and r.json()["error"]["code"] == "index_not_found"


def test_model_errors_and_checked_answers_are_counted_per_arm(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as model:
        model.reply_with("Full-time employees get 28 working days of paid annual leave per calendar year [1].")
        app = client_factory(
            rate_limit=None,
            canary_check_interval_s=0.2,
            llm_model="policy-model",
            llm_base_url=model.base_url,
            llm_max_retries=0,
        )
        services_of(app).builder.build("policies", SAMPLE_DIR)
        _canary(app, {"min_questions": 1000})
        _traffic(app, 2)
        model.fail_with(500)
        failed: Counter[str] = Counter()
        for _ in range(MAX_ASKS):
            r = app.post("/v1/ask", json={"question": QUESTIONS[0]})
            assert r.status_code == 503, r.text
            failed["n"] += 1
            body = app.get(f"{BASE}/canary").json()
            if body["live"]["model_errors"] >= 1 and body["canary"]["model_errors"] >= 1:
                break
        body = _wait(app, lambda b: b["live"]["model_errors"] + b["canary"]["model_errors"] == failed["n"])
        for arm in ("live", "canary"):
            figures = body[arm]
            assert (
                figures["model_errors"] >= 1 and figures["questions"] == figures["answered"] + figures["model_errors"]
            )
            assert figures["unsupported_rate"] is not None  # model answers are checked, extractive ones are not
        assert body["verdict"]["state"] == "no_verdict"


def test_a_canary_release_on_the_live_version_is_judged_and_rolled_back(app: TestClient, hook: WebhookReceiver) -> None:
    """The canary is a release: same index version as live, other settings (it refuses everything)."""
    services = services_of(app)
    made = app.post(f"{BASE}/releases", json={"settings": {"refusal_threshold": 0.99, "calibrated_refusal": False}})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    policy = {"min_questions": 6, "min_duration_s": 3600, "max_worsening": LENIENT_LATENCY}
    r = app.post(f"{BASE}/canary", json={"release": number, "share": 0.5, "policy": policy})
    assert r.status_code == 200 and (r.json()["version"], r.json()["release"]) == (1, number)
    _traffic(app, 6)

    body = _wait(app, _state("rolled_back"))
    assert "refusal rate" in body["run"]["reason"] and body["canary"]["refusal_rate"] == 1.0
    last = services.catalog.alias_history("policies:canary")[-1]
    assert (last.action, last.release, last.actor) == (CANARY_ROLLED_BACK_ACTION, number, "canary-analysis")
    assert services.registry.canary("policies") is None
    assert services.catalog.get_release_alias("policies:canary") is None
    assert services.registry.live_release("policies").number == 1  # type: ignore[union-attr]
    assert hook.wait_for("canary.rolled_back").signature_ok


def test_an_equal_canary_release_goes_live_as_tested(app: TestClient, hook: WebhookReceiver) -> None:
    services = services_of(app)
    made = app.post(f"{BASE}/releases", json={"prompt": "answer/v1"}).json()["number"]
    policy = {"min_questions": 6, "min_duration_s": 0, "auto_promote": True, "max_worsening": LENIENT_LATENCY}
    assert app.post(f"{BASE}/canary", json={"release": made, "share": 0.5, "policy": policy}).status_code == 200
    _traffic(app, 6)

    _wait(app, _state("promoted"))
    live = services.registry.live_release("policies")
    assert live is not None and live.number == made and live.spec is not None and live.spec.prompt == "answer/v1"
    promoted = services.catalog.alias_history("policies")[-1]
    assert (promoted.action, promoted.release, promoted.actor) == ("promote", made, "canary-analysis")
    answer = app.post("/v1/ask", json={"question": QUESTIONS[0]}).json()
    assert (answer["release"], answer["prompt"]["version"]) == (made, "v1")
    assert hook.wait_for("canary.promoted").signature_ok


LEAVE_ANSWER = "Full-time employees get 28 working days of paid annual leave per calendar year [1]."


def _by_prompt(prompt: str) -> str:
    """The test model: answers under prompt answer/v2 (its ``<<<SOURCES`` block), refuses under answer/v1."""
    return LEAVE_ANSWER if "<<<SOURCES" in prompt else NOT_COVERED


def test_a_canary_release_with_the_live_version_and_another_prompt_gets_its_own_run(
    client_factory: ClientFactory, hook: WebhookReceiver
) -> None:
    """Live and both canaries answer from index version 1; the canaries differ from live in the model's
    temperature (equal answers), then in the prompt (the model refuses under it). Each canary release is
    a run of its own, judged on its own answers, and the refusing one is rolled back."""
    with OpenAITestServer() as model:
        model.respond_with(_by_prompt)
        app = client_factory(
            rate_limit=None,
            canary_check_interval_s=0.2,
            models={"local": {"base_url": model.base_url, "api_key": FAKE_API_KEY}},
            llm_max_retries=0,
            webhook_url=hook.url,
            webhook_signing_secret=SECRET,
        )
        services = services_of(app)
        answerer = {"kind": "openai", "endpoint": "local", "name": "policy-model"}

        def release(body: dict[str, Any]) -> int:
            made = app.post(f"{BASE}/releases", json=body)
            assert made.status_code == 201, made.text
            assert made.json()["version"] == 1
            number: int = made.json()["number"]
            return number

        live = release({"prompt": "answer/v2", "model": answerer})
        assert app.post(f"{BASE}/promote", json={"release": live}).status_code == 200
        equal = release({"model": {**answerer, "temperature": 0.3}})
        refusing = release({"prompt": "answer/v1"})  # the live model, another prompt

        quiet = {"min_questions": 1000, "max_worsening": LENIENT_LATENCY}
        r = app.post(f"{BASE}/canary", json={"release": equal, "share": 0.5, "policy": quiet})
        assert r.status_code == 200 and (r.json()["version"], r.json()["release"]) == (1, equal)
        _traffic(app, 3)
        first = _wait(app, lambda b: b["canary"]["questions"] >= 3)["run"]
        assert (first["release"], first["version"]) == (equal, 1)
        stale = next(
            AnswerRecord.model_validate(a)
            for a in (app.post("/v1/ask", json={"question": QUESTIONS[0]}).json() for _ in range(MAX_ASKS))
            if a["release"] == equal
        )
        assert not stale.refused

        policy = {"min_questions": 6, "min_duration_s": 3600, "max_worsening": LENIENT_LATENCY}
        r = app.post(f"{BASE}/canary", json={"release": refusing, "share": 0.5, "policy": policy})
        assert r.status_code == 200 and (r.json()["version"], r.json()["release"]) == (1, refusing)
        body = app.get(f"{BASE}/canary").json()
        assert body["run"]["id"] != first["id"] and (body["run"]["release"], body["run"]["version"]) == (refusing, 1)
        assert body["canary"]["questions"] == 0  # nothing of the first canary release carried over
        replaced = services.canary.runs.get(first["id"])
        assert replaced is not None and (replaced.state, replaced.release) == ("replaced", equal)
        services.canary.answered(stale)  # a late answer of the replaced release: not the new run's
        _traffic(app, 6)

        body = _wait(app, _state("rolled_back"))
        assert body["run"]["release"] == refusing and "refusal rate" in body["run"]["reason"]
        assert body["canary"]["refusal_rate"] == 1.0 and body["live"]["refusal_rate"] == 0.0
        assert services.canary.runs.tallies(first["id"])["canary"].refused == 0
        last = services.catalog.alias_history("policies:canary")[-1]
        assert (last.action, last.version, last.release) == (CANARY_ROLLED_BACK_ACTION, 1, refusing)
        assert services.registry.canary("policies") is None
        assert services.registry.live_release("policies").number == live  # type: ignore[union-attr]
        [entry] = services.audit.entries(action="canary.rollback")
        assert entry.details["release"] == refusing and entry.details["run"] == body["run"]["id"]
        delivery = hook.wait_for("canary.rolled_back")
        assert (delivery.body["canary_release"], delivery.body["canary_version"]) == (refusing, 1)


def test_a_canary_replaced_by_another_release_of_its_version_gets_a_new_run(app: TestClient) -> None:
    """By the route, and by other means (another process, `rag release --canary`): the watcher adopts
    the new canary release in a run of its own even though the index version did not change."""
    services = services_of(app)
    first, second, third = (
        app.post(f"{BASE}/releases", json=body).json()["number"]
        for body in ({"prompt": "answer/v1"}, {"settings": {"top_k": 3}}, {"settings": {"top_k": 4}})
    )
    policy = {"min_questions": 1000, "max_worsening": LENIENT_LATENCY}
    runs = []
    for number in (first, second):
        r = app.post(f"{BASE}/canary", json={"release": number, "share": 0.5, "policy": policy})
        assert r.status_code == 200, r.text
        runs.append(app.get(f"{BASE}/canary").json()["run"])
    assert [(r["release"], r["version"]) for r in runs] == [(first, 1), (second, 1)]
    assert runs[0]["id"] != runs[1]["id"]
    assert services.canary.runs.get(runs[0]["id"]).state == "replaced"  # type: ignore[union-attr]

    services.registry.set_canary_release("policies", third, 0.5, actor="another-process")
    set_at = services.catalog.alias_history("policies:canary")[-1].at
    adopted = _wait(app, lambda b: b["run"]["release"] == third)["run"]
    assert adopted["id"] != runs[1]["id"] and adopted["version"] == 1 and adopted["state"] == "running"
    assert adopted["policy"]["min_questions"] == services.canary.defaults.min_questions  # the default policy
    assert adopted["started_at"].replace("Z", "+00:00") == set_at.isoformat()
    assert services.canary.runs.get(runs[1]["id"]).state == "replaced"  # type: ignore[union-attr]


def test_a_canary_release_whose_gate_failed_is_not_promoted_automatically(
    client_factory: ClientFactory, hook: WebhookReceiver, tmp_path: Path
) -> None:
    """The canary holds under a policy that tolerates its refusals, but its gate failed: automatic
    promotion is refused like a person's without force, and the canary waits ready for a person."""
    golden, _ = _small_golden(tmp_path)
    app = client_factory(
        rate_limit=None,
        canary_check_interval_s=0.2,
        webhook_url=hook.url,
        webhook_signing_secret=SECRET,
        golden_set=golden,
        gate_max_newly_refused=0,
    )
    services = services_of(app)
    strict = app.post(
        f"{BASE}/releases", json={"settings": {"refusal_threshold": 0.99, "calibrated_refusal": False}}
    ).json()["number"]
    assert app.post(f"{BASE}/releases/{strict}/gate").json()["gate"]["passed"] is False
    tolerant = {**LENIENT_LATENCY, "refusal_rate": 1.0}
    policy = {"min_questions": 6, "min_duration_s": 0, "auto_promote": True, "max_worsening": tolerant}
    assert app.post(f"{BASE}/canary", json={"release": strict, "share": 0.5, "policy": policy}).status_code == 200
    _traffic(app, 6)

    body = _wait(app, _state("ready"))
    assert body["run"]["reason"].startswith("automatic promotion failed (gate_failed: ")
    canary = services.registry.canary("policies")
    assert canary is not None and canary.release == strict
    assert services.registry.live_release("policies").number == 1  # type: ignore[union-attr]
    assert hook.wait_for("canary.promote_failed").body["canary_release"] == strict
    for _ in range(2):  # later judgements still pass, but the run waits for a person: no retry
        services.canary.sweep()
    [entry] = services.audit.entries(action="canary.promote")
    assert entry.outcome == "gate_failed"
    assert services.canary.status("policies").run.state == "ready"  # type: ignore[union-attr]
