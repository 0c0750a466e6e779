"""Releases over HTTP: make, list, read and compare them; promote, canary and roll back by release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, services_of
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR
from tests.support.openai_server import FAKE_API_KEY, OpenAITestServer

BASE = "/v1/indexes/policies"
Q = {"question": "How many days of annual leave do I get?"}


def _numbers(client: TestClient) -> list[int]:
    return [r["number"] for r in client.get(f"{BASE}/releases").json()]


def test_the_first_release_follows_the_settings_and_a_new_one_copies_the_live_release(client: TestClient) -> None:
    first = client.get(f"{BASE}/releases").json()
    assert [(r["number"], r["version"], r["follows_settings"], r["live"]) for r in first] == [(1, 1, True, True)]
    assert first[0]["prompt"] is None and first[0]["model"] is None
    assert first[0]["effective"]["prompt"] == "answer/v2" and first[0]["effective"]["model"]["kind"] == "extractive"

    made = client.post(f"{BASE}/releases", json={"prompt": "answer/v1", "settings": {"top_k": 3}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["number"], body["version"], body["follows_settings"], body["live"]) == (2, 1, False, False)
    assert body["prompt"] == "answer/v1"
    assert body["model"] == {
        "kind": "extractive",
        "endpoint": None,
        "name": None,
        "temperature": 0.0,
        "max_tokens": 400,
    }
    settings = services_of(client).settings
    assert body["settings"] == {
        "mode": settings.retrieval_mode,
        "fusion": settings.fusion,
        "top_k": 3,
        "refusal_threshold": settings.refusal_threshold,
        "calibrated_refusal": True,
    }
    assert client.get(f"{BASE}/releases/2").json() == body
    assert _numbers(client) == [2, 1]
    # releases are immutable: the same request names the same release, and no route changes one
    assert client.post(f"{BASE}/releases", json={"prompt": "answer/v1", "settings": {"top_k": 3}}).json()["number"] == 2
    assert client.patch(f"{BASE}/releases/2", json={"prompt": "answer/v2"}).status_code == 405
    assert client.delete(f"{BASE}/releases/2").status_code == 405
    missing = client.get(f"{BASE}/releases/9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "release_not_found"

    diff = client.get(f"{BASE}/releases/diff", params={"from": 1, "to": 2}).json()
    assert {c["field"]: (c["from"], c["to"]) for c in diff["changes"]} == {
        "follows_settings": (True, False),
        "prompt": ("answer/v2", "answer/v1"),
        "settings.top_k": (settings.top_k, 3),
    }


def test_unknown_prompt_or_model_is_refused_and_stores_nothing(client_factory: ClientFactory) -> None:
    client = client_factory(models={"gpt": {"base_url": "http://127.0.0.1:9/v1", "api_key": FAKE_API_KEY}})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"prompt": "answer/v9"}, "unknown_prompt"),
        ({"prompt": "condense/v1"}, "unknown_prompt"),
        ({"model": {"kind": "openai", "endpoint": "nowhere", "name": "m"}}, "unknown_model_endpoint"),
        ({"model": {"kind": "openai", "endpoint": "gpt"}}, "invalid_input"),
        ({"version": 7}, "version_not_found"),
        ({"settings": {"top_k": 0}}, "validation_error"),
        ({"settings": {"top_k": "5"}}, "validation_error"),
    ]
    for body, code in cases:
        r = client.post(f"{BASE}/releases", json=body)
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == code, (body, r.text)
        assert FAKE_API_KEY not in r.text
    assert _numbers(client) == [1]
    made = client.post(f"{BASE}/releases", json={"model": {"kind": "openai", "endpoint": "gpt", "name": "m"}})
    assert made.status_code == 201 and made.json()["model"]["endpoint"] == "gpt"
    assert FAKE_API_KEY not in client.get(f"{BASE}/releases").text


def test_promote_canary_and_rollback_by_release_and_by_version(client: TestClient) -> None:
    services = services_of(client)
    services.builder.build("policies", SAMPLE_DIR)  # v2, not promoted
    v1 = client.post(f"{BASE}/releases", json={"prompt": "answer/v1"}).json()["number"]  # 2: v1 with answer/v1
    assert client.post("/v1/ask", json=Q).json()["release"] == 1

    both = client.post(f"{BASE}/promote", json={"version": 2, "release": v1})
    assert both.status_code == 422
    r = client.post(f"{BASE}/promote", json={"release": v1})
    assert r.status_code == 200, r.text
    assert (r.json()["release"], r.json()["previous_release"], r.json()["version"]) == (v1, 1, 1)
    answer = client.post("/v1/ask", json=Q).json()
    assert (answer["release"], answer["index"]["version"], answer["prompt"]["version"]) == (v1, 1, "v1")
    again = client.post(f"{BASE}/promote", json={"release": v1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_live"

    # {version}: the live release with that version swapped in -- answer/v1 is kept
    r = client.post(f"{BASE}/promote", json={"version": 2})
    assert r.status_code == 200 and r.json()["release"] == 3
    answer = client.post("/v1/ask", json=Q).json()
    assert (answer["release"], answer["index"]["version"], answer["prompt"]["version"]) == (3, 2, "v1")

    # the canary is a release: release 1 (v1, the settings' prompt) answers every unpinned question
    c = client.post(f"{BASE}/canary", json={"release": 1, "share": 1.0})
    assert c.status_code == 200 and (c.json()["release"], c.json()["version"]) == (1, 1)
    answer = client.post("/v1/ask", json=Q).json()
    assert (answer["release"], answer["index"]["alias"], answer["prompt"]["version"]) == (1, "policies:canary", "v2")
    assert client.delete(f"{BASE}/canary").json()["version"] == 1

    back = client.post(f"{BASE}/rollback")
    assert back.status_code == 200 and (back.json()["release"], back.json()["previous_release"]) == (v1, 3)
    to_first = client.post(f"{BASE}/rollback", json={"release": 1})
    assert to_first.status_code == 200 and to_first.json()["release"] == 1
    receipt = client.get(f"/v1/answers/{client.post('/v1/ask', json=Q).json()['answer_id']}/receipt").json()
    assert receipt["release"]["number"] == 1 and receipt["release"]["follows_settings"] is True
    pinned = client.post("/v1/ask", json={**Q, "index": "policies@2"}).json()
    assert (pinned["release"], pinned["index"]["version"], pinned["prompt"]["version"]) == (None, 2, "v2")
    assert client.get(f"/v1/answers/{pinned['answer_id']}/receipt").json()["release"] is None
    spans = client.get(f"{BASE}/history").json()
    assert [s["release"] for s in spans][-3:] == [3, v1, 1]


def test_a_release_answers_with_its_own_prompt_and_model(client_factory: ClientFactory) -> None:
    with OpenAITestServer() as server:
        server.reply_with("You get 27 days of annual leave [1].")
        client = client_factory(
            models={"local": {"base_url": server.base_url, "api_key": FAKE_API_KEY}}, llm_max_retries=0
        )
        services = services_of(client)
        model = {"kind": "openai", "endpoint": "local", "name": "release-model", "temperature": 0.5, "max_tokens": 77}
        made = client.post(f"{BASE}/releases", json={"prompt": "answer/v1", "model": model})
        assert made.status_code == 201, made.text
        assert client.post("/v1/ask", json=Q).json()["model"]["provider"] == "extractive"  # not live yet
        assert server.requests == []
        assert client.post(f"{BASE}/promote", json={"release": made.json()["number"]}).status_code == 200
        for _ in range(2):
            answer = client.post("/v1/ask", json=Q).json()
        seen = server.requests
        assert len(seen) == 2
        assert answer["model"] == {"provider": "openai", "name": "release-model"}
        assert (answer["prompt"]["version"], answer["release"]) == ("v1", made.json()["number"])
        body = seen[-1].body
        assert (body["model"], body["temperature"], body["max_tokens"]) == ("release-model", 0.5, 77)
        assert seen[-1].headers.get("authorization") == f"Bearer {FAKE_API_KEY}"
        assert "<<<SOURCES" not in seen[-1].prompt and "Sources:" in seen[-1].prompt  # answer/v1, not v2
        assert len(services.assistant.profiles or []) == 1  # built once, reused for the second question
        # a rollback goes back to the settings' extractive answerer and prompt
        assert client.post(f"{BASE}/rollback").status_code == 200
        back = client.post("/v1/ask", json=Q).json()
        assert (back["model"]["provider"], back["prompt"]["version"], back["release"]) == ("extractive", "v2", 1)
        assert len(server.requests) == 2


def _small_golden(tmp_path: Path) -> tuple[Path, list[str]]:
    """A golden set of the sample's annual-leave and equipment questions (a quick gate); its lines."""
    picked = [
        line
        for line in (GOLDEN_DIR / "golden.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line)["doc_ids"][0] in ("people/annual-leave.md", "it/equipment.md")
    ]
    golden = tmp_path / "golden" / "golden.jsonl"
    golden.parent.mkdir()
    golden.write_text("\n".join(picked) + "\n")
    return golden, picked


def test_the_gate_runs_for_a_release(client_factory: ClientFactory, tmp_path: Path) -> None:
    """Settings changed: the golden answers are diffed (and fail over the threshold); only the index
    version changed: the retrieval gate runs. The result is kept with the release."""
    golden, picked = _small_golden(tmp_path)
    client = client_factory(golden_set=golden, gate_max_newly_refused=0)
    strict = client.post(
        f"{BASE}/releases", json={"settings": {"refusal_threshold": 0.99, "calibrated_refusal": False}}
    )
    number = strict.json()["number"]
    gated = client.post(f"{BASE}/releases/{number}/gate")
    assert gated.status_code == 200, gated.text
    gate = gated.json()["gate"]
    assert (gate["changed"], gate["retrieval"], gate["passed"], gate["live_release"]) == (["settings"], None, False, 1)
    assert gate["answers"]["summary"]["newly_refused"] == len(picked)
    assert any("newly refused > max 0" in r for r in gate["reasons"])
    assert client.get(f"{BASE}/releases/{number}").json()["gate"] == gate

    services_of(client).builder.build("policies", SAMPLE_DIR)  # v2: the same documents
    by_version = client.post(f"{BASE}/releases", json={"version": 2}).json()["number"]
    gate = client.post(f"{BASE}/releases/{by_version}/gate").json()["gate"]
    assert (gate["changed"], gate["answers"], gate["passed"]) == (["version"], None, True)
    assert gate["retrieval"]["new"]["version"] == 2 and gate["retrieval"]["live"]["version"] == 1
    live = client.post(f"{BASE}/releases/1/gate")
    assert live.status_code == 409 and "live release" in live.json()["error"]["message"]


BICYCLE_ONLY = """---
title: Bicycle Allowance
doc_id: NW-PEO-099
---

# Bicycle Allowance

Employees who cycle to the office receive a bicycle allowance of 30 euros per month.
"""


def test_a_release_whose_gate_failed_is_promoted_only_with_force(client_factory: ClientFactory, tmp_path: Path) -> None:
    """By release and by version (the live release with that version, reused when it exists); a release
    never gated is promoted as before. A refusal moves nothing and is audited with its code."""
    golden, _ = _small_golden(tmp_path)
    client = client_factory(golden_set=golden, gate_max_newly_refused=0)
    services = services_of(client)
    strict = client.post(
        f"{BASE}/releases", json={"settings": {"refusal_threshold": 0.99, "calibrated_refusal": False}}
    ).json()["number"]
    assert client.post(f"{BASE}/releases/{strict}/gate").json()["gate"]["passed"] is False
    history = len(services.catalog.alias_history("policies"))

    refused = client.post(f"{BASE}/promote", json={"release": strict})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert set(refused.json()) == {"error"} and error["code"] == "gate_failed"
    assert f"release {strict} failed its gate against release 1" in error["message"]
    assert "newly refused > max 0" in error["message"] and "force" in error["message"]
    assert services.registry.live_release("policies").number == 1  # type: ignore[union-attr]
    assert len(services.catalog.alias_history("policies")) == history
    [audited] = services.audit.entries(action="promote")
    assert (audited.outcome, audited.target) == ("gate_failed", f"release {strict}")
    assert client.post(f"{BASE}/promote", json={"release": strict, "force": "yes"}).status_code == 422

    # by version: v2 covers none of the golden questions, so the release of v2 fails the retrieval gate
    folder = tmp_path / "bicycle-only"
    folder.mkdir()
    (folder / "bicycle.md").write_text(BICYCLE_ONLY)
    services.builder.build("policies", folder)
    of_v2 = client.post(f"{BASE}/releases", json={"version": 2}).json()["number"]
    gate = client.post(f"{BASE}/releases/{of_v2}/gate").json()["gate"]
    assert (gate["changed"], gate["passed"]) == (["version"], False)
    by_version = client.post(f"{BASE}/promote", json={"version": 2})
    assert by_version.status_code == 409 and by_version.json()["error"]["code"] == "gate_failed"
    assert services.registry.live_version("policies") == 1
    forced = client.post(f"{BASE}/promote", json={"version": 2, "force": True})
    assert forced.status_code == 200, forced.text
    assert (forced.json()["release"], forced.json()["version"]) == (of_v2, 2)

    forced = client.post(f"{BASE}/promote", json={"release": strict, "force": True})
    assert forced.status_code == 200 and forced.json()["release"] == strict
    assert services.audit.entries(action="promote")[0].details["force"] is True
    # a release never gated needs no force, and force on one is harmless
    fresh = client.post(f"{BASE}/releases", json={"prompt": "answer/v1"}).json()["number"]
    assert client.post(f"{BASE}/promote", json={"release": fresh}).status_code == 200
    assert client.post(f"{BASE}/promote", json={"release": 1, "force": True}).status_code == 200
