"""``rag mcp``: the MCP server over stdio, for an assistant on the employee's own machine.

The process acts for one caller for its whole life: the API key (or identity-provider token) it was
started with, checked once at start like any bearer credential; with ``auth_enabled`` off, the
caller that sees everything. stdout carries the protocol alone; messages go to stderr.
"""

from __future__ import annotations

import anyio

from api.mcp.tools import build_mcp_server
from rag.access.errors import Unauthorized
from rag.access.principal import AUTH_OFF, Principal
from rag.wiring import Services

__all__ = ["serve_stdio", "stdio_principal"]


def stdio_principal(services: Services, credential: str | None) -> Principal:
    """Who a stdio server acts for: the credential's principal; ``Unauthorized`` without a valid one."""
    if not services.settings.auth_enabled:
        return AUTH_OFF
    if not credential:
        raise Unauthorized("rag mcp needs an API key: pass --key or set RAG_KEY (a key from `rag keys create`)")
    return services.authenticator.authenticate(credential)


def serve_stdio(services: Services, principal: Principal) -> None:
    """Serve the policy tools on stdin/stdout until the client closes them."""
    server = build_mcp_server(services, lambda _ctx: principal)
    anyio.run(server.run_stdio_async)
