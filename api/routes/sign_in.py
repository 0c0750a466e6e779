"""Web sign-in routes: leave for the identity provider, come back with a session cookie, sign out.

``GET /auth/login`` sends the browser to the provider (authorization code flow with PKCE);
``GET /auth/callback`` exchanges the code, checks the tokens, stores a server-side session and sets
the cookie (HttpOnly, SameSite=Lax, Secure unless ``session_cookie_secure`` is off); ``POST
/auth/logout`` ends the session (it needs the page's CSRF token, as every state-changing call made
with the cookie does); ``GET /auth/config`` tells the pages whether sign-in is offered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from api.auth import SESSION_COOKIE, session_of
from api.deps import ServicesDep
from api.schemas import ErrorBody
from rag.access.web_sign_in import SignInFailed, WebSignIn
from rag.errors import NotFound
from rag.wiring import Services

__all__ = ["router"]

_NOT_CONFIGURED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Sign-in is not configured (``sign_in_not_configured``)."}
}
_PROVIDER_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "The provider cannot be reached (``identity_provider_unavailable``)."}
}

router = APIRouter(prefix="/auth", tags=["sign-in"])


class SignInNotConfigured(NotFound):
    code = "sign_in_not_configured"


class SignInConfig(BaseModel):
    """Whether the pages offer sign-in with the company's identity provider."""

    sign_in: bool = Field(description="True when RAG_OIDC_ISSUER and RAG_OIDC_CLIENT_ID are set.")


def _web(services: Services) -> WebSignIn:
    if services.web_sign_in is None:
        raise SignInNotConfigured(
            "sign-in with an identity provider is not configured (RAG_OIDC_ISSUER, RAG_OIDC_CLIENT_ID)"
        )
    return services.web_sign_in


def _callback_url(request: Request) -> str:
    return str(request.url_for("sign_in_callback"))


@router.get("/config", response_model=SignInConfig)
def config(services: ServicesDep) -> SignInConfig:
    """Whether sign-in is offered (public: the pages ask before anyone is signed in)."""
    return SignInConfig(sign_in=services.web_sign_in is not None)


@router.get("/login", response_class=RedirectResponse, status_code=302, responses={**_NOT_CONFIGURED, **_PROVIDER_DOWN})
def login(request: Request, services: ServicesDep) -> RedirectResponse:
    """Send the browser to the identity provider's sign-in page."""
    return RedirectResponse(_web(services).start(_callback_url(request)), status_code=302)


@router.get(
    "/callback",
    response_class=RedirectResponse,
    status_code=303,
    name="sign_in_callback",
    responses={
        400: {"model": ErrorBody, "description": "The provider's answer cannot be used (``sign_in_failed``)."},
        **_NOT_CONFIGURED,
        **_PROVIDER_DOWN,
    },
)
def callback(
    request: Request,
    services: ServicesDep,
    state: Annotated[str, Query(max_length=256)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    """Finish a sign-in: a session cookie and back to the ask page; 400 ``sign_in_failed`` when refused."""
    web = _web(services)
    if error is not None:
        raise SignInFailed(f"the identity provider answered {error!r}")
    if not state or not code:
        raise SignInFailed("the identity provider's answer has no state or code")
    session_id, session = web.finish(_callback_url(request), state, code)
    principal = services.authenticator.claims.principal(session.claims)
    services.audit.record(principal, "sign_in", "ok")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=services.settings.session_max_age_s,
        httponly=True,
        secure=services.settings.session_cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


@router.post(
    "/logout",
    status_code=204,
    response_class=Response,
    responses={
        403: {"model": ErrorBody, "description": "A session cookie without its X-CSRF-Token (``csrf_failed``)."},
        **_NOT_CONFIGURED,
    },
)
def logout(request: Request, services: ServicesDep) -> Response:
    """End the session of the cookie (idempotent); needs the ``X-CSRF-Token`` header of the session."""
    web = _web(services)
    found = session_of(request, services, require_csrf=True)
    if found is not None:
        session_id, session = found
        web.sessions.delete(session_id)
        services.audit.record(services.authenticator.claims.principal(session.claims), "sign_out", "ok")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=services.settings.session_cookie_secure)
    return response
