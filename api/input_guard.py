"""Refuses, before routing, a request whose path or query holds a control character (422).

No route can store or look up such a value on every backend (PostgreSQL refuses NUL in text), and
none is a valid index name, doc id, job id, key id or filter, so the request is answered at the
edge with the documented error shape: ``{"error": {"code": "validation_error", "message"}}``.
Tab, line feed and carriage return pass (a page's ``?q=`` may hold a multi-line question); the
routes' own checks refuse them where a name cannot hold them.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from rag.text_input import stripped_characters

__all__ = ["ControlCharacterGuard"]


def _problem(scope: Scope) -> str | None:
    """What is wrong with the request's path or query, or None."""
    found = stripped_characters(str(scope.get("path", "")))
    if found:
        return f"path: control characters are not allowed ({', '.join(found)})"
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        found = stripped_characters(name + value)
        if found:
            return f"query parameter {name[:64]!r}: control characters are not allowed ({', '.join(found)})"
    return None


class ControlCharacterGuard:
    """Pure ASGI middleware: answers 422 for a control character in the path or a query parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _problem(scope)
            if problem is not None:
                await error_response(422, "validation_error", problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
