"""The Slack app against a Slack Web API test server on loopback: signed requests in, posts out.

The app is the real one (lifespan, services, the real embedder) over an index ``acl`` whose
``pay.md`` only the ``hr`` group may read; Slack user group ``S0HR`` maps to ``hr``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from api.app import create_app
from api.slack.service import Slack
from ingest.embedding import Embedder
from rag.wiring import Services, build_services
from tests.conftest import make_settings
from tests.support.slack_api import SlackApiServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
HR_DOC = "---\naccess_groups: [hr]\n---\n# Salary review\n\nThe quillfeather bonus pool is 4 percent of payroll.\n"
OPEN_DOC = "# Canteen\n\nThe canteen serves lunch from noon until two in the afternoon.\n"
HR_QUESTION = "How big is the quillfeather bonus pool?"


class App:
    def __init__(self, client: TestClient, slack_api: SlackApiServer) -> None:
        self.client = client
        self.api = slack_api
        app: Any = client.app
        self.services: Services = app.state.services
        self.slack: Slack = app.state.slack

    def post(self, path: str, body: bytes, content_type: str, *, timestamp: int | None = None, **headers: str) -> Any:
        """``body`` signed with the app's signing secret as Slack signs it."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
        sent = {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature or "",
            **headers,
        }
        return self.client.post(path, content=body, headers=sent)

    def event(self, event: dict[str, Any], event_id: str, timestamp: int | None = None, **headers: str) -> Any:
        body = {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}
        return self.post(
            "/v1/slack/events", json.dumps(body).encode(), "application/json", timestamp=timestamp, **headers
        )

    def command(self, user: str, text: str) -> Any:
        form = {"command": "/policy", "text": text, "team_id": "T1", "user_id": user, "channel_id": "C1"}
        return self.post("/v1/slack/commands", urlencode(form).encode(), "application/x-www-form-urlencoded")

    def click(self, user: str, action_id: str, answer_id: str) -> Any:
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user},
            "channel": {"id": "C1"},
            "actions": [{"action_id": action_id, "block_id": "feedback", "value": answer_id, "type": "button"}],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post("/v1/slack/interactions", body, "application/x-www-form-urlencoded")

    def thread(self, thread_ts: str) -> list[dict[str, Any]]:
        return [c.args for c in self.api.calls("chat.postMessage") if c.args.get("thread_ts") == thread_ts]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[App]:
    root = tmp_path_factory.mktemp("slack")
    src = root / "acl-src"
    src.mkdir()
    (src / "open.md").write_text(OPEN_DOC)
    (src / "pay.md").write_text(HR_DOC)
    with SlackApiServer(TOKEN) as slack_api:
        slack_api.add_user("U_HR", "hanna@example.com")
        slack_api.add_user("U_OUT", "otto@example.com")
        slack_api.add_user("U_FIN", "fiona@finance.example.com")
        slack_api.add_usergroup("S0HR", ["U_HR"])
        settings = make_settings(
            root / "data",
            worker_enabled=False,
            default_index="acl",
            public_url="https://policies.example.com",
            slack_signing_secret=SECRET,
            slack_bot_token=TOKEN,
            slack_api_url=slack_api.url,
            slack_user_groups={"S0HR": ["hr"]},
            slack_email_domain_groups={"finance.example.com": ["finance"]},
        )
        fastapi_app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        with TestClient(fastapi_app) as client:
            services: Services = fastapi_app.state.services
            services.documents.set_source("acl", src)
            services.builder.build("acl", src, promote=True)
            yield App(client, slack_api)
    shutil.rmtree(root, ignore_errors=True)


def test_url_verification_echoes_the_challenge(app: App) -> None:
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3g"})
    answer = app.post("/v1/slack/events", body.encode(), "application/json")
    assert answer.status_code == 200 and answer.json() == {"ok": True, "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3g"}


def test_bad_signature_and_replays_are_401(app: App) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    ts = str(int(time.time()))
    forged = app.client.post(
        "/v1/slack/events",
        content=body,
        headers={"x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + "0" * 64},
    )
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    assert app.client.post("/v1/slack/events", content=body).status_code == 401  # unsigned
    stale = app.post("/v1/slack/events", body, "application/json", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401 and "window" in stale.json()["error"]["message"]
    first = app.post("/v1/slack/events", body, "application/json", timestamp=int(ts))
    again = app.post("/v1/slack/events", body, "application/json", timestamp=int(ts))  # the same signed request
    assert first.status_code == 200 and again.status_code == 401
    assert "replay" in again.json()["error"]["message"]
    garbage = app.post("/v1/slack/events", b"not json", "application/json")
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "malformed_body"


def test_slash_command_is_acked_before_the_answer_is_posted_in_a_thread(app: App) -> None:
    before = len(app.api.calls("chat.postMessage"))
    app.api.hold_posts()
    try:
        ack = app.command("U_HR", HR_QUESTION)
        assert ack.status_code == 200 and ack.json()["response_type"] == "ephemeral"
        assert len(app.api.calls("chat.postMessage")) == before  # acknowledged while nothing could be posted
    finally:
        app.api.release_posts()
    posts = app.api.wait_for("chat.postMessage", before + 2)[before:]
    parent, reply = posts[0].args, posts[1].args
    assert parent["channel"] == "C1" and HR_QUESTION in parent["text"] and "thread_ts" not in parent
    assert reply["channel"] == "C1" and reply["thread_ts"].startswith(str(int(float(reply["thread_ts"]))))
    assert app.thread(reply["thread_ts"]) == [reply]
    blocks = json.dumps(reply["blocks"])
    assert "4 percent" in reply["text"]
    assert "https://policies.example.com/view?index=acl&version=1&doc=pay.md&chunk=" in blocks
    assert "[1] <https://policies.example.com/view" in blocks and "acl version 1" in blocks
    buttons = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == ["feedback_up", "feedback_down"]
    answer_id = buttons[0]["value"]
    assert app.services.answers.asked_by(answer_id) == "slack:T1:U_HR"


def test_empty_slash_command_says_how_to_use_it(app: App) -> None:
    ack = app.command("U_HR", "   ")
    assert ack.status_code == 200 and "/policy How many vacation days?" in ack.json()["text"]


def _mention(app: App, user: str, ts: str, event_id: str, timestamp: int | None = None, **headers: str) -> Any:
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {HR_QUESTION}", "ts": ts, "channel": "C1"}
    return app.event(event, event_id, timestamp, **headers)


def test_app_mention_is_answered_with_the_users_groups(app: App) -> None:
    assert _mention(app, "U_HR", "2000.000001", "Ev_HR").status_code == 200
    assert _mention(app, "U_OUT", "2000.000002", "Ev_OUT").status_code == 200
    assert app.slack.responder.wait_idle(120)
    (hr,) = app.thread("2000.000001")
    (outsider,) = app.thread("2000.000002")
    assert "4 percent" in hr["text"]
    assert "quillfeather" not in json.dumps(outsider) and "pay.md" not in json.dumps(outsider)
    directory = app.slack.responder.directory
    assert directory.principal("T1", "U_FIN").groups == ["finance"]  # by email domain
    assert directory.principal("T1", "U_HR").groups == ["hr"]  # by user group
    assert directory.principal("T1", "U_NOBODY").visible_groups(app.services.settings.default_access_group) == [
        app.services.settings.default_access_group
    ]


def test_a_retried_event_is_not_answered_twice(app: App) -> None:
    now = int(time.time())
    assert _mention(app, "U_HR", "3000.000001", "Ev_RETRY", now).status_code == 200
    # Slack's retry: the same event, signed anew with a later timestamp
    retry_headers = {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    retry = _mention(app, "U_HR", "3000.000001", "Ev_RETRY", now + 4, **retry_headers)
    assert retry.status_code == 200
    assert app.slack.responder.wait_idle(120)
    assert len(app.thread("3000.000001")) == 1


def test_thumbs_record_feedback_for_the_asker_only(app: App) -> None:
    assert _mention(app, "U_HR", "4000.000001", "Ev_THUMBS").status_code == 200
    assert app.slack.responder.wait_idle(120)
    (reply,) = app.thread("4000.000001")
    answer_id = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    before = len(app.api.calls("chat.postEphemeral"))
    assert app.click("U_OUT", "feedback_up", answer_id).status_code == 200
    assert app.click("U_HR", "feedback_down", answer_id).status_code == 200
    notes = app.api.wait_for("chat.postEphemeral", before + 2)[before:]
    by_user = {n.args["user"]: n.args["text"] for n in notes}
    assert "Only the person who asked" in by_user["U_OUT"] and "recorded" in by_user["U_HR"]
    stored = [f for f in app.services.feedback.iter_all() if f.answer_id == answer_id]
    assert [f.rating for f in stored] == ["down"]
