"""Per-request plumbing: a request id (``X-Request-ID``), one access log line, and route latency.

A caller's ``X-Request-ID`` is kept when it is 1-128 characters of letters, digits, ``.``, ``_``
or ``-``; otherwise a new id is made. The id is returned in the response header and bound to
every log line written while the request is handled.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics

__all__ = ["REQUEST_ID_HEADER", "RequestContextMiddleware"]

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_UNMATCHED = "<unmatched>"

log = structlog.stdlib.get_logger("api.access")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _VALID_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", root)
    mounted = root[len(app_root) :] if isinstance(root, str) and isinstance(app_root, str) else ""
    return mounted or _UNMATCHED  # a mount (e.g. /static) or a path no route matched


class RequestContextMiddleware:
    """Pure ASGI middleware (safe for streamed responses): id, access log line and latency metric."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message["headers"] = [*headers, header]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = _route_template(scope)
                self.metrics.observe_request(scope["method"], route, status, seconds)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
