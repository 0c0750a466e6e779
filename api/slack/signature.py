"""Slack's request signature: ``v0=HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")``, checked by
``slack_sdk``'s own verifier, within a timestamp window.

A request without the headers, with a wrong signature, or with a timestamp outside the window
(``slack_max_request_age_s``, at most Slack's 5 minutes) is refused with 401 ``unauthorized``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

from rag.access.errors import Unauthorized

__all__ = ["SlackSignature"]


class SlackSignature:
    """Verifies that a request came from Slack, recently."""

    def __init__(self, signing_secret: str | None, max_age_s: int = 300) -> None:
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_age_s = max_age_s

    def check(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The request's signature when it is Slack's and fresh; ``Unauthorized`` otherwise."""
        if self._verifier is None:
            raise Unauthorized("the Slack app is not configured (RAG_SLACK_SIGNING_SECRET)")
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            raise Unauthorized("missing Slack signature (X-Slack-Signature, X-Slack-Request-Timestamp)")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.max_age_s:
            raise Unauthorized("the Slack request timestamp is outside the accepted window: a replay is refused")
        if not self._verifier.is_valid(body, timestamp, signature):
            raise Unauthorized("wrong Slack signature")
        return signature
