"""Web sign-in with the company's identity provider: the authorization code flow with PKCE.

authlib's OAuth client builds the authorization URL (``state``, ``nonce``, S256 code challenge) and
exchanges the code; the returned ID token (audience: the client id, the sign-in's nonce) and
access token are checked by :class:`~rag.access.tokens.TokenVerifier` exactly as API tokens are,
and the access token's claims become a server-side session (``rag.access.sessions``). No token
ever reaches the browser: it holds only the session cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from rag.access.errors import InvalidToken
from rag.access.sessions import Session, SessionStore
from rag.access.tokens import TokenVerifier
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = ["SignInFailed", "WebSignIn", "build_web_sign_in"]


class SignInFailed(RagError):
    """The provider's answer to a sign-in cannot be used (unknown state, refused code, bad tokens)."""

    code = "sign_in_failed"
    status = 400


class WebSignIn:
    """Starts and finishes browser sign-ins; guarantees a session only for tokens that pass every check."""

    def __init__(
        self,
        verifier: TokenVerifier,
        client_id: str,
        client_secret: str | None,
        sessions: SessionStore,
        *,
        scope: str = "openid email profile",
        session_max_age_s: float = 8 * 3600,
    ) -> None:
        self.verifier = verifier
        self.sessions = sessions
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._max_age = session_max_age_s

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            self._client_id,
            self._client_secret,
            scope=self._scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self._client_secret else "none",
            timeout=10.0,
        )

    def start(self, redirect_uri: str) -> str:
        """The provider's authorization URL to send the browser to (a new pending sign-in is stored)."""
        pending = self.sessions.begin_sign_in()
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                str(self.verifier.metadata["authorization_endpoint"]),
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return str(url)

    def finish(self, redirect_uri: str, state: str, code: str) -> tuple[str, Session]:
        """The new session (id and session) for the provider's answer; ``SignInFailed`` otherwise."""
        pending = self.sessions.take_sign_in(state)
        if pending is None:
            raise SignInFailed("this sign-in is unknown, already used or too old; sign in again")
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    str(self.verifier.metadata["token_endpoint"]), code=code, code_verifier=pending.code_verifier
                )
        except OAuthError as exc:
            raise SignInFailed(f"the identity provider refused the sign-in: {exc.description or exc.error}") from exc
        try:
            if "id_token" in token:
                self.verifier.verify(str(token["id_token"]), audience=self._client_id, nonce=pending.nonce)
            claims = self.verifier.verify(str(token.get("access_token", "")))
        except InvalidToken as exc:
            raise SignInFailed(f"the identity provider's tokens are not accepted: {exc.message}") from exc
        return self.sessions.create(claims, self._max_age)


def build_web_sign_in(settings: Settings, verifier: TokenVerifier | None, engine: sa.Engine) -> WebSignIn | None:
    """Web sign-in when the provider is configured with a client id; None otherwise (API keys only)."""
    if verifier is None or not settings.oidc_client_id:
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return WebSignIn(
        verifier,
        settings.oidc_client_id,
        secret,
        SessionStore(engine),
        scope=settings.oidc_scopes,
        session_max_age_s=settings.session_max_age_s,
    )
