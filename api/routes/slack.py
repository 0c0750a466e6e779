"""The Slack app's endpoints: ``/v1/slack/events`` (Events API), ``/v1/slack/commands`` (``/policy``)
and ``/v1/slack/interactions`` (the thumbs buttons).

Each is authenticated by Slack's signature, not by a key (``api.slack.signature``): a missing or
wrong signature, a timestamp outside the window, or the same signed request again is 401
``unauthorized``. Each answers at once (Slack wants its ack within 3 seconds) and leaves the work
to ``api.slack.responder``; an event Slack resends (``X-Slack-Retry-Num``) is acknowledged and
never answered twice. A signed body that is not what Slack sends is 422 ``malformed_body``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.schemas import ErrorBody
from api.slack.messages import FEEDBACK_ACTIONS
from api.slack.service import Slack
from rag.access.errors import Unauthorized
from rag.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/v1/slack", tags=["slack"])

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong Slack signature, or a replayed request."},
    422: {"model": ErrorBody, "description": "A signed body that is not what Slack sends (malformed_body)."},
}


class MalformedSlackBody(InvalidInput):
    code = "malformed_body"


class SlackAck(BaseModel):
    """An acknowledgement; ``challenge`` answers Slack's url_verification."""

    ok: bool = True
    challenge: str | None = None


class CommandAck(BaseModel):
    """The slash command's immediate reply, shown to the asker only."""

    response_type: str = "ephemeral"
    text: str = Field(description="What the asker sees at once; the answer follows in a thread.")


async def _verified(request: Request) -> tuple[Slack, bytes]:
    """The Slack app and the request's body, once the body is Slack's, fresh and not seen before."""
    slack: Slack = request.app.state.slack
    body = await request.body()
    signature = slack.signature.check(body, request.headers)
    if not slack.deliveries.claim(f"sig:{signature}"):
        raise Unauthorized("this signed Slack request was already received: a replay is refused")
    return slack, body


def _form(body: bytes) -> dict[str, str]:
    try:
        return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError as exc:
        raise MalformedSlackBody("the Slack request body is not UTF-8 form data") from exc


def _json_object(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedSlackBody("the Slack request body is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedSlackBody("the Slack request body is not a JSON object")
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedSlackBody(f"the Slack request has no {key!r}")
    return value


@router.post("/events", response_model=SlackAck, response_model_exclude_none=True, responses=_ERRORS)
async def events(request: Request) -> SlackAck:
    """Slack's Events API: answers the url_verification challenge; an ``app_mention`` is answered in its
    thread. Other events, the bot's own messages and resent events are acknowledged and ignored."""
    slack, body = await _verified(request)
    data = _json_object(body)
    kind = data.get("type")
    if kind == "url_verification":
        return SlackAck(challenge=_text(data, "challenge"))
    if kind != "event_callback":
        return SlackAck()
    event = data.get("event")
    if not isinstance(event, dict):
        raise MalformedSlackBody("the event_callback has no event")
    if not slack.deliveries.claim(f"event:{_text(data, 'event_id')}"):
        return SlackAck()  # Slack resent it (X-Slack-Retry-Num): it is being or was answered
    if event.get("type") != "app_mention" or event.get("bot_id"):
        return SlackAck()
    question = _MENTION.sub("", str(event.get("text", ""))).strip()
    thread = str(event.get("thread_ts") or _text(event, "ts"))
    team = str(data.get("team_id") or event.get("team") or "")
    slack.responder.answer_in_thread(team, _text(event, "user"), _text(event, "channel"), thread, question)
    return SlackAck()


@router.post("/commands", response_model=CommandAck, responses=_ERRORS)
async def commands(request: Request) -> CommandAck:
    """The ``/policy <question>`` slash command: the question is posted in the channel and answered in
    its thread; the asker sees an immediate note (or how to use the command, for an empty one)."""
    slack, body = await _verified(request)
    form = _form(body)
    question = form.get("text", "").strip()
    command = form.get("command", "/policy")
    if not question:
        return CommandAck(text=f"Ask a question about the company's policies: `{command} How many vacation days?`")
    user, channel = _text(form, "user_id"), _text(form, "channel_id")
    slack.responder.answer_command(form.get("team_id", ""), user, channel, question)
    return CommandAck(text="Looking that up in the policies; the answer follows in a thread.")


@router.post("/interactions", response_model=SlackAck, responses=_ERRORS)
async def interactions(request: Request) -> SlackAck:
    """Button clicks (Slack's interactivity): a thumbs button records feedback on its answer for the
    user who clicked, through the feedback route's rules (only the asker's thumbs count)."""
    slack, body = await _verified(request)
    payload = _json_object(_form(body).get("payload", ""))
    if payload.get("type") != "block_actions":
        return SlackAck()
    user = payload.get("user") or {}
    channel = payload.get("channel") or {}
    team = payload.get("team") or {}
    if not isinstance(user, dict) or not isinstance(channel, dict) or not isinstance(team, dict):
        raise MalformedSlackBody("the block_actions payload has no user or channel")
    for action in payload.get("actions") or []:
        rating = FEEDBACK_ACTIONS.get(str(action.get("action_id"))) if isinstance(action, dict) else None
        if rating is not None:
            answer_id = _text(action, "value")
            slack.responder.record_feedback(
                str(team.get("id", "")), _text(user, "id"), _text(channel, "id"), answer_id, rating
            )
    return SlackAck()
