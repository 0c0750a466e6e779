"""A webhook receiver on loopback: checks each delivery's HMAC-SHA256 signature and records it.

``fail_first=N`` answers 503 to the first N deliveries (the sender must retry). A delivery whose
``X-Rag-Signature`` does not match the body under the shared secret is answered 401 and recorded
with ``signature_ok=False``, so a test sees a bad signature rather than a missing delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Delivery", "WebhookReceiver"]


@dataclass(frozen=True)
class Delivery:
    event: str
    delivery_id: str
    body: dict[str, Any]
    signature_ok: bool


@dataclass
class _State:
    secret: bytes
    fail_first: int
    attempts: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)


class WebhookReceiver:
    """``with WebhookReceiver(secret) as hook: ... hook.url ...``; :meth:`wait_for` an event."""

    def __init__(self, secret: str, *, fail_first: int = 0) -> None:
        self.state = state = _State(secret.encode(), fail_first)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                expected = "sha256=" + hmac.new(state.secret, body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Rag-Signature", ""))
                with state.changed:
                    state.attempts += 1
                    failing = state.attempts <= state.fail_first
                    if not failing:
                        state.deliveries.append(
                            Delivery(
                                self.headers.get("X-Rag-Event", ""),
                                self.headers.get("X-Rag-Delivery", ""),
                                json.loads(body),
                                ok,
                            )
                        )
                        state.changed.notify_all()
                self.send_response(503 if failing else (204 if ok else 401))
                self.send_header("content-length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hooks/canary"
        # a short poll interval: shutdown() waits for the serving loop to notice it (0.5 s by default)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    @property
    def deliveries(self) -> list[Delivery]:
        with self.state.changed:
            return list(self.state.deliveries)

    def wait_for(self, event: str, timeout_s: float = 20.0) -> Delivery:
        """The first delivery of ``event``, waiting for it (AssertionError after the timeout)."""
        with self.state.changed:
            done = self.state.changed.wait_for(
                lambda: any(d.event == event for d in self.state.deliveries), timeout=timeout_s
            )
            found = [d for d in self.state.deliveries if d.event == event]
        assert done, f"no {event} delivery within {timeout_s} s; got {[d.event for d in self.deliveries]}"
        return found[0]
