"""``/mcp``: the MCP server over streamable HTTP inside ``rag serve``, for the caller's own credentials.

Every request is authenticated exactly as a ``/v1`` route is (``api.auth.current_principal``: an API
key or an identity-provider token as ``Authorization: Bearer``, rate limit counted); without valid
credentials the answer is the usual 401 JSON error and the MCP server never sees the request. The
principal rides in the request's scope, and each tool call acts for the principal of the HTTP
request that carries it.

The transport is stateless (``stateless_http``) with JSON responses: no session lives on one API
replica, so any replica answers any request, and nothing is kept between calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import current_principal
from api.errors import error_response
from api.mcp.tools import build_mcp_server
from rag.access.errors import Unauthorized
from rag.access.principal import Principal
from rag.errors import RagError
from rag.wiring import Services

__all__ = ["MCP_PATH", "McpEndpoint", "mcp_lifespan", "principal_of_request"]

MCP_PATH = "/mcp"
_PRINCIPAL = "rag_principal"
_ROUTE = SimpleNamespace(path=MCP_PATH)


def principal_of_request(ctx: Context[Any, Any]) -> Principal:
    """The caller of a tool call over HTTP: the principal the endpoint authenticated for its request."""
    request = ctx.request_context.request
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    principal = state.get(_PRINCIPAL)
    if not isinstance(principal, Principal):  # never reached through McpEndpoint
        raise Unauthorized("the MCP request carries no authenticated caller")
    return principal


@asynccontextmanager
async def mcp_lifespan(app: FastAPI, services: Services) -> AsyncIterator[None]:
    """Build the MCP server over the app's services and run its HTTP session manager while the app runs."""
    server = build_mcp_server(services, principal_of_request)
    # Credentials are required on every request (no ambient cookie alone passes: a cookie call needs its
    # CSRF token), so the SDK's Host/Origin allow-list against DNS rebinding is not needed here and would
    # refuse the public host name.
    handler = server.streamable_http_app(
        streamable_http_path="/",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.state.mcp_handler = _inner_endpoint(handler)
    async with server.session_manager.run():
        yield


def _inner_endpoint(starlette_app: Any) -> ASGIApp:
    """The SDK's streamable HTTP handler itself (its Starlette app's single route), called at ``/mcp``."""
    route = starlette_app.routes[0]
    endpoint: ASGIApp = route.endpoint
    return endpoint


class McpEndpoint:
    """The ASGI endpoint of ``/mcp``: authenticate, then hand the request to the MCP server."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        app = scope["app"]
        try:
            services: Services = app.state.services
            scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
            credentials = None
            if scheme and token:
                credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
            principal = current_principal(request, services, credentials)
        except RagError as exc:
            response = error_response(exc.status, exc.code, exc.message, getattr(exc, "headers", None))
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_PRINCIPAL] = principal
        scope["route"] = _ROUTE  # the access log and latency metric name the route, as for /v1
        handler: ASGIApp = app.state.mcp_handler
        await handler(scope, receive, send)
