"""The Slack app's work after the ack: ask for the user and post the answer in a thread, record thumbs.

Slack wants every request acknowledged within 3 seconds, so the routes only verify, claim the
delivery and queue the work here; a small thread pool (owned by the app's lifespan) does the
asking and the posting through ``slack_sdk``'s Web API client. Every answer goes through
``rag.access.asking.ask_as`` with the Slack user's principal, and every thumb through
``rag.access.feedback.give_feedback``: the same access rules as the HTTP API.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from api.slack.directory import SlackDirectory
from api.slack.messages import answer_message, escape, notice_message
from rag.access.asking import ask_as
from rag.access.feedback import give_feedback
from rag.errors import NotFound, RagError
from rag.feedback import Rating
from rag.wiring import Services

__all__ = ["SlackResponder", "build_slack_responder"]

log = logging.getLogger("api.slack")


class SlackResponder:
    """Queues and does the Slack app's answers and feedback; ``close`` waits for queued work."""

    def __init__(self, services: Services, client: WebClient, directory: SlackDirectory, workers: int = 2) -> None:
        self.services = services
        self.client = client
        self.directory = directory
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Finish queued work and stop the threads."""
        self._pool.shutdown(wait=True)

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until the work queued so far is done; False when ``timeout_s`` ran out first."""
        with self._lock:
            pending = set(self._pending)
        return not wait(pending, timeout=timeout_s).not_done

    def _submit(self, fn: Any, *args: Any) -> Future[None]:
        future: Future[None] = self._pool.submit(fn, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        _log_failure(future)

    def answer_in_thread(self, team: str, user: str, channel: str, thread_ts: str, question: str) -> Future[None]:
        """Answer ``question`` for ``user`` in the thread of ``thread_ts`` (queued)."""
        return self._submit(self._answer, team, user, channel, thread_ts, question)

    def answer_command(self, team: str, user: str, channel: str, question: str) -> Future[None]:
        """Post the slash command's question in ``channel`` and answer it in its thread (queued)."""
        return self._submit(self._command, team, user, channel, question)

    def record_feedback(self, team: str, user: str, channel: str, answer_id: str, rating: Rating) -> Future[None]:
        """Record ``user``'s thumb on an answer and tell them (ephemeral) whether it counted (queued)."""
        return self._submit(self._feedback, team, user, channel, answer_id, rating)

    def _command(self, team: str, user: str, channel: str, question: str) -> None:
        posted = self.client.chat_postMessage(channel=channel, text=f"<@{user}> asked: {escape(question)}")
        self._answer(team, user, channel, str(posted["ts"]), question)

    def _answer(self, team: str, user: str, channel: str, thread_ts: str, question: str) -> None:
        principal = self.directory.principal(team, user)
        try:
            record = ask_as(self.services, principal, question, None, None)
            message = answer_message(self.services.settings, record)
        except RagError as exc:  # an empty or oversized question, the model unreachable, ...
            message = notice_message(f"Sorry, I could not answer that: {exc.message}")
        self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)

    def _feedback(self, team: str, user: str, channel: str, answer_id: str, rating: Rating) -> None:
        principal = self.directory.principal(team, user)
        try:
            give_feedback(self.services, principal, answer_id, rating)
            text = "Thanks, your feedback is recorded."
        except NotFound:
            text = "Only the person who asked can rate this answer."
        self.client.chat_postEphemeral(channel=channel, user=user, text=text)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if isinstance(exc, SlackApiError | SlackClientError):
        log.warning("posting to Slack failed: %s", exc)
    elif exc is not None:
        log.error("a Slack answer failed", exc_info=exc)


def build_slack_responder(services: Services) -> SlackResponder:
    """The responder over ``services``, posting with the bot token to ``slack_api_url``."""
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=30)
    directory = SlackDirectory(
        client, settings.slack_user_groups, settings.slack_email_domain_groups, settings.slack_directory_ttl_s
    )
    return SlackResponder(services, client, directory)
