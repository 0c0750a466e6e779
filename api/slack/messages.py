"""Slack messages as Block Kit: the answer, its numbered citations as links to the document viewer,
the index version that answered, and thumbs buttons whose value is the answer's id."""

from __future__ import annotations

from typing import Any

from api.links import viewer_link
from rag.feedback import Rating
from rag.records import AnswerRecord
from rag.settings import Settings

__all__ = ["FEEDBACK_ACTIONS", "answer_message", "escape", "notice_message"]

FEEDBACK_ACTIONS: dict[str, Rating] = {"feedback_up": "up", "feedback_down": "down"}
"""The thumbs buttons' action ids and the rating each records."""

_MAX_SECTION = 2900  # Slack refuses a section text over 3000 characters


def escape(text: str) -> str:
    """Text safe inside Slack's mrkdwn: ``&``, ``<`` and ``>`` escaped (no injected links or mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_SECTION else text[: _MAX_SECTION - 1] + "…"


def answer_message(settings: Settings, record: AnswerRecord) -> dict[str, Any]:
    """``text`` (the notification's fallback) and ``blocks`` of an answer posted in a thread."""
    name, version = record.index.name, record.index.version
    lines = []
    for c in record.citations:
        where = " / ".join([c.title, *[h for h in c.heading_path if h != c.title]])
        link = viewer_link(settings, name, version, c.doc_id, c.chunk_id)
        lines.append(f"[{c.n}] <{link}|{escape(where)}>")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(record.answer))}}
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines))}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{escape(name)} version {version} · answer {record.answer_id}"}],
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "feedback",
            "elements": [
                {
                    "type": "button",
                    "action_id": action,
                    "text": {"type": "plain_text", "text": ":+1:" if rating == "up" else ":-1:", "emoji": True},
                    "value": record.answer_id,
                }
                for action, rating in FEEDBACK_ACTIONS.items()
            ],
        }
    )
    return {"text": _cut(record.answer), "blocks": blocks}


def notice_message(text: str) -> dict[str, Any]:
    """A plain message (a refused question, a failure), escaped."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(text))}}]}
