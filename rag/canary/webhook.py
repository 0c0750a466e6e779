"""Signed webhook deliveries of canary decisions, with retries, on a thread of their own.

Each event is POSTed as JSON to ``RAG_WEBHOOK_URL`` with ``X-Rag-Event`` (e.g.
``canary.rolled_back``), ``X-Rag-Delivery`` (a unique id, the same on every retry) and
``X-Rag-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes under the shared secret
``RAG_WEBHOOK_SIGNING_SECRET``. A connection error, a timeout, a 429 or a 5xx is retried with
exponential backoff (tenacity) up to ``attempts`` times; other statuses are final. Deliveries run on
one background thread: :meth:`Webhook.send` only queues, so neither the answer path nor the canary
decision ever waits for the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

__all__ = ["SIGNATURE_HEADER", "Webhook", "sign"]

SIGNATURE_HEADER = "X-Rag-Signature"
_log = structlog.get_logger(__name__)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` + hex HMAC-SHA256 under ``secret``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _Retryable(Exception):
    """A response worth retrying (429, 5xx)."""


class Webhook:
    """Delivers events to one URL; ``client`` and ``wait_s`` are test seams."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 5,
        wait_s: float = 0.5,
        max_wait_s: float = 30.0,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self._secret = secret
        self._attempts = attempts
        self._wait = wait_exponential(multiplier=wait_s, max=max_wait_s)
        self._client = client or httpx.Client(timeout=timeout_s)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook")

    def send(self, event: str, payload: dict[str, Any]) -> Future[int | None]:
        """Queue one delivery; the future holds the final status (None when it never got one)."""
        body = json.dumps({"event": event, **payload}, sort_keys=True, default=str).encode("utf-8")
        return self._pool.submit(self._deliver, event, body, uuid.uuid4().hex)

    def _deliver(self, event: str, body: bytes, delivery: str) -> int | None:
        headers = {
            "content-type": "application/json",
            "X-Rag-Event": event,
            "X-Rag-Delivery": delivery,
            SIGNATURE_HEADER: sign(self._secret, body),
        }
        status: int | None = None
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                retry=retry_if_exception_type((httpx.TransportError, _Retryable)),
                reraise=True,
            ):
                with attempt:
                    response = self._client.post(self.url, content=body, headers=headers)
                    status = response.status_code
                    if status == 429 or status >= 500:
                        raise _Retryable(f"{self.url} answered {status}")
        except (httpx.TransportError, _Retryable) as exc:
            _log.warning("webhook_failed", event=event, delivery=delivery, attempts=self._attempts, error=str(exc))
            return status
        if status is not None and status >= 400:
            _log.warning("webhook_refused", event=event, delivery=delivery, status=status)
        return status

    def close(self) -> None:
        """Finish the delivery in hand (bounded by its retries), drop queued ones, release the client."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
