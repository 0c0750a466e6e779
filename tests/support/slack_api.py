"""A Slack Web API test server on loopback: the methods the Slack app calls, recorded for assertions.

Speaks the real protocol as ``slack_sdk``'s ``WebClient`` uses it: ``POST {base}/{method}`` with a
bearer token, arguments as a JSON body, form data or the query string, answers
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``. Implemented: ``chat.postMessage``,
``chat.postEphemeral``, ``users.info``, ``usergroups.users.list``. ``hold_posts`` makes
``chat.postMessage`` wait until ``release_posts`` (to show that an ack does not wait for the answer).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["SlackApiServer", "SlackCall"]


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    token: str


@dataclass
class _State:
    token: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[SlackCall] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    posts_open: threading.Event = field(default_factory=threading.Event)
    next_ts: int = 1000


class SlackApiServer:
    """``with SlackApiServer(token) as slack: ... slack.url ...`` (the ``slack_api_url`` setting)."""

    def __init__(self, token: str) -> None:
        self.state = _State(token=token)
        self.state.posts_open.set()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle(b"")

            def do_POST(self) -> None:
                self._handle(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def _handle(self, body: bytes) -> None:
                url = urlparse(self.path)
                method = url.path.rsplit("/", 1)[-1]
                args: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
                content_type = self.headers.get("content-type", "")
                if body and content_type.startswith("application/json"):
                    args.update(json.loads(body))
                elif body:
                    args.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
                token = self.headers.get("authorization", "").removeprefix("Bearer ")
                self._send(_answer(state, method, args, token))

            def _send(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/"
        # a short poll interval: shutdown() waits for the serving loop to notice it (0.5 s by default)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-api", daemon=True
        )

    def __enter__(self) -> SlackApiServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.state.posts_open.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def add_user(self, user_id: str, email: str) -> None:
        self.state.users[user_id] = {"id": user_id, "name": email.split("@")[0], "profile": {"email": email}}

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        self.state.usergroups[group_id] = members

    def hold_posts(self) -> None:
        self.state.posts_open.clear()

    def release_posts(self) -> None:
        self.state.posts_open.set()

    def calls(self, method: str) -> list[SlackCall]:
        with self.state.changed:
            return [c for c in self.state.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout_s: float = 60.0) -> list[SlackCall]:
        """The first ``count`` calls of ``method``, waiting for them (AssertionError after the timeout)."""
        with self.state.changed:
            done = self.state.changed.wait_for(
                lambda: len([c for c in self.state.calls if c.method == method]) >= count, timeout=timeout_s
            )
            found = [c for c in self.state.calls if c.method == method]
        assert done, f"expected {count} {method} call(s), got {len(found)}"
        return found


def _answer(state: _State, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
    if token != state.token:
        return {"ok": False, "error": "invalid_auth"}
    if method == "chat.postMessage":
        state.posts_open.wait(timeout=60)
    with state.changed:
        state.calls.append(SlackCall(method, args, token))
        state.changed.notify_all()
        if method == "chat.postMessage":
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            state.next_ts += 1
            ts = f"{state.next_ts}.000100"
            return {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1.000200"}
        if method == "users.info":
            user = state.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.users.list":
            members = state.usergroups.get(str(args.get("usergroup")))
            return {"ok": True, "users": members} if members is not None else {"ok": False, "error": "no_such_subteam"}
    return {"ok": False, "error": "unknown_method"}
