"""Who may call a route: the FastAPI side of ``rag.access`` (bearer credentials, roles, rate limits).

A caller sends ``Authorization: Bearer <API key or identity-provider access token>``, or (the
web pages) the session cookie of a web sign-in, with ``X-CSRF-Token`` on every state-changing call;
``rag.access.authenticate`` and ``rag.access.sessions`` decide who that is. Every route declares
the least role it needs with :func:`require` (employee < owner < admin); ``index_param`` names
the path parameter holding the index an owner must own, and ``rag.access.policy`` decides.
Without valid credentials: 401 ``unauthorized`` (a key sent with another scheme than Bearer, e.g.
Basic, is told so) or ``invalid_token`` (a JWT failing a check); too low a role or not owning the
index: 403 ``forbidden`` (a refused state-changing request is also written to the audit log); a
cookie call without the session's CSRF token: 403 ``csrf_failed``; over the per-caller rate: 429
``rate_limited`` with ``Retry-After``. With ``auth_enabled`` off every caller is
:data:`~rag.access.principal.AUTH_OFF`, an admin that sees every access group.
"""

from __future__ import annotations

import hmac
import math
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.deps import ServicesDep
from rag.access.errors import Forbidden, RateLimited, Unauthorized
from rag.access.policy import refusal
from rag.access.principal import AUTH_OFF, Principal, Role
from rag.access.sessions import Session
from rag.wiring import Services

__all__ = [
    "SESSION_COOKIE",
    "Admin",
    "CurrentPrincipal",
    "Employee",
    "IndexOwner",
    "KeyRateLimiter",
    "Owner",
    "require",
    "session_of",
]

SESSION_COOKIE = "rag_session"
"""The cookie holding a signed-in browser's session id (HttpOnly; the session itself is server-side)."""

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfFailed(Forbidden):
    code = "csrf_failed"


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `rag keys create` or `POST /v1/keys` (`Authorization: Bearer rag_...`), or an "
    "access token (JWT) of the company's identity provider when sign-in is configured.",
)


class KeyRateLimiter:
    """A moving-window rate limit per caller (``limits``); counters in memory or in Redis."""

    def __init__(self, rate: str, storage_uri: str = "memory://") -> None:
        self.rate = rate
        self._items: list[RateLimitItem] = parse_many(rate)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, key_id: str) -> None:
        """Count one request of ``key_id``; ``RateLimited`` (with the seconds to wait) when over."""
        for item in self._items:
            if not self._limiter.hit(item, "rag-key", key_id):
                reset_at, _ = self._limiter.get_window_stats(item, "rag-key", key_id)
                wait = max(1, math.ceil(reset_at - time.time()))
                raise RateLimited(f"rate limit of {self.rate} per key exceeded; retry in {wait} s", wait)


def session_of(request: Request, services: Services, *, require_csrf: bool) -> tuple[str, Session] | None:
    """The live web session of the request's cookie (None without one).

    With ``require_csrf`` the request must carry the session's token in ``X-CSRF-Token``: a page
    of this site can read it from ``GET /v1/me``, another site cannot (403 ``csrf_failed``).
    """
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or services.web_sign_in is None:
        return None
    session = services.web_sign_in.sessions.get(session_id)
    if session is None:
        return None
    if require_csrf:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise CsrfFailed("a change made with the session cookie needs the page's X-CSRF-Token header")
    return session_id, session


def current_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, authenticated by its bearer credentials and counted against its rate limit."""
    if not services.settings.auth_enabled:
        return AUTH_OFF
    if credentials is None or credentials.scheme.lower() != "bearer":
        header = request.headers.get("authorization", "").strip()
        found = None if header else session_of(request, services, require_csrf=request.method not in _SAFE_METHODS)
        if found is not None:
            request.state.csrf_token = found[1].csrf_token
            return _counted(request, services.authenticator.claims.principal(found[1].claims))
        if header:
            scheme = header.split(maxsplit=1)[0]
            raise Unauthorized(
                f"the Authorization header uses the {scheme!r} scheme; API keys are sent as "
                "'Authorization: Bearer <key>'"
            )
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    return _counted(request, services.authenticator.authenticate(credentials.credentials))


def _counted(request: Request, principal: Principal) -> Principal:
    limiter: KeyRateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.hit(principal.key_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""Any authenticated caller, whatever its role."""


def require(role: Role, *, index_param: str | None = None) -> Any:
    """A dependency (``Depends``) admitting callers of at least ``role`` who own the path's index.

    ``index_param`` is checked only for owners (``rag.access.policy.refusal``). The dependency
    returns the caller's :class:`~rag.access.principal.Principal`.
    """

    def dependency(request: Request, services: ServicesDep, principal: CurrentPrincipal) -> Principal:
        index = str(request.path_params.get(index_param, "")) if index_param is not None else None
        reason = refusal(principal, role, index)
        if reason is not None:
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                route = request.scope.get("route")
                services.audit.record(
                    principal,
                    f"{request.method} {getattr(route, 'path', request.url.path)}",
                    "denied",
                    index=str(request.path_params.get(index_param or "name", "")) or None,
                    details={"path": request.url.path, "reason": reason},
                )
            raise Forbidden(reason)
        return principal

    dependency.__name__ = f"require_{role}" + (f"_owning_{index_param}" if index_param else "")
    return Depends(dependency)


Employee = Annotated[Principal, require("employee")]
"""Any caller: employees, owners and admins."""
Owner = Annotated[Principal, require("owner")]
"""Owners (of some index) and admins; the route itself limits owners to their indexes."""
IndexOwner = Annotated[Principal, require("owner", index_param="name")]
"""Owners of the path's ``{name}`` index, and admins."""
Admin = Annotated[Principal, require("admin")]
"""Admins only."""
