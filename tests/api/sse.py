"""Parsing server-sent events in tests (the wire format, independent of the server's library)."""

from __future__ import annotations

import json
from typing import Any


def parse_events(body: str) -> list[tuple[str, Any]]:
    """``(event, data)`` pairs of an SSE body; ``event`` is ``message`` when unnamed; data is JSON when it parses."""
    events: list[tuple[str, Any]] = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            text = "\n".join(data)
            try:
                events.append((name, json.loads(text)))
            except json.JSONDecodeError:
                events.append((name, text))
    return events
