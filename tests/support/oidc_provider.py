"""A real OpenID provider on loopback for the tests, built from authlib's server components.

It speaks discovery (``/.well-known/openid-configuration``), JWKS (``/jwks``), authorize (the
authorization code flow with PKCE required, behind a one-field sign-in form) and token (JWT access
tokens as RFC 9068 describes them, from authlib's ``JWTBearerTokenGenerator``, plus an ID token).
Tests change it as an administrator would change a company's provider: :meth:`OidcProvider.set_user`
moves a user between groups, :meth:`OidcProvider.rotate_key` starts signing with a new key.
:meth:`OidcProvider.mint` signs a token with the provider's current key directly, for the claims a
normal sign-in never produces (expired, another audience, not yet valid).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import werkzeug.serving
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

__all__ = ["OidcProvider", "running_provider", "sign_in"]


@dataclass
class _User:
    sub: str
    email: str
    groups: list[str]

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class _Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    audience: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "email", "profile", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: _User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return time.time() - self.auth_time > 300


class OidcProvider:
    """The provider's state (keys, users, one client) and its Flask app; see the module docstring."""

    def __init__(self, client_id: str = "policy-assistant", client_secret: str = "s3cret", audience: str = "") -> None:
        self.issuer = ""  # set by running_provider once the port is known
        self.client = _Client(client_id, client_secret, [], audience or client_id)
        self.users: dict[str, _User] = {}
        self.keys: list[RSAKey] = []
        self.published: list[RSAKey] = []
        self.token_lifetime_s = 600
        self.jwks_fetches = 0
        self._codes: dict[str, _Code] = {}
        self.rotate_key()
        self.app = self._build_app()

    # --- what a test (the provider's administrator) changes -------------------------------------

    def set_user(self, sub: str, email: str, groups: list[str]) -> None:
        """Create a user or move one between groups (takes effect in the next token issued)."""
        self.users[sub] = _User(sub, email, list(groups))

    def rotate_key(self, *, keep_old: bool = True) -> RSAKey:
        """Sign from now on with a new key; the old one stays published unless ``keep_old`` is false."""
        key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.keys.append(key)
        self.published = [*self.published, key] if keep_old else [key]
        return key

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[-1]

    def mint(self, sub: str, *, key: RSAKey | None = None, **claims: Any) -> str:
        """An access token for ``sub`` signed by the provider's current key (or ``key``); ``claims`` override."""
        user = self.users[sub]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.client.audience,
            "iat": now,
            "exp": now + self.token_lifetime_s,
            "client_id": self.client.client_id,
            "email": user.email,
            "groups": user.groups,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signer = key or self.signing_key
        return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": signer.kid}, payload, signer)

    # --- the protocol -------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        provider = self
        app = Flask("test-oidc-provider")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": self.token_lifetime_s}

        class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
            def get_jwks(self) -> KeySet:
                return KeySet([provider.signing_key])

            def get_audiences(self, client: _Client, user: _User, scope: str) -> str:
                return client.audience

            def get_extra_claims(self, client: _Client, grant_type: str, user: _User, scope: str) -> dict[str, Any]:
                return {"email": user.email, "groups": list(user.groups)}

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                provider._codes[code] = _Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope,
                    user=req.user,
                    nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
                found = provider._codes.get(code)
                if found is None or found.client_id != client.client_id or found.is_expired():
                    return None
                return found

            def delete_authorization_code(self, authorization_code: _Code) -> None:
                provider._codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: _Code) -> _User:
                # The user as they are now: a group change made after sign-in shows in this token.
                return provider.users[authorization_code.user.sub]

        class IdToken(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: _Client) -> RSAKey:
                return provider.signing_key

            def get_client_claims(self, client: _Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def get_encode_header(self, client: _Client) -> dict[str, Any]:
                return {"alg": "RS256", "kid": provider.signing_key.kid}

            def get_client_algorithm(self, client: _Client) -> str:
                return "RS256"

            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return False

            def generate_user_info(self, user: _User, scope: str) -> UserInfo:
                return UserInfo(sub=user.sub, email=user.email, groups=list(user.groups))

        server = AuthorizationServer(
            app,
            query_client=lambda cid: provider.client if cid == provider.client.client_id else None,
            save_token=lambda token, req: None,
        )
        lifetime = AccessTokens(issuer="", expires_generator=lambda client, grant_type: provider.token_lifetime_s)
        server.register_token_generator("default", lifetime)
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=False)])
        self._server = server

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            base = provider.issuer
            return jsonify(
                issuer=base,
                authorization_endpoint=f"{base}/authorize",
                token_endpoint=f"{base}/token",
                jwks_uri=f"{base}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            provider.jwks_fetches += 1
            return jsonify(KeySet(list(provider.published)).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                try:
                    server.get_consent_grant(end_user=None)
                except Exception as exc:  # shown to the person, as a provider does
                    return f"<p id='error'>{exc}</p>", 400
                return (
                    "<form method='post'><label>User <input name='username' id='username'></label>"
                    "<button type='submit' id='sign-in'>Sign in</button></form>"
                )
            user = provider.users.get(request.form.get("username", ""))
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token() -> Any:
            return server.create_token_response()

        return app


class _Quiet(werkzeug.serving.WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log line per request."""


@contextmanager
def running_provider(provider: OidcProvider | None = None) -> Iterator[OidcProvider]:
    """Serve ``provider`` on 127.0.0.1 (a free port) in a thread; stopped when the block ends."""
    provider = provider or OidcProvider()
    server = werkzeug.serving.make_server("127.0.0.1", 0, provider.app, threaded=True, request_handler=_Quiet)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    token_generator = provider._server._token_generators["default"]
    token_generator.issuer = provider.issuer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sign_in(provider: OidcProvider, username: str) -> dict[str, Any]:
    """The token response of a sign-in of ``username`` (authorization code flow with PKCE, as a client does)."""
    redirect = "http://127.0.0.1:9/callback"
    if redirect not in provider.client.redirect_uris:
        provider.client.redirect_uris.append(redirect)
    with OAuth2Client(
        provider.client.client_id,
        provider.client.client_secret,
        scope="openid email",
        redirect_uri=redirect,
        code_challenge_method="S256",
    ) as client:
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(f"{provider.issuer}/authorize", code_verifier=verifier)
        answer = httpx.post(url, data={"username": username})
        assert answer.status_code == 302, answer.text
        token: dict[str, Any] = client.fetch_token(
            f"{provider.issuer}/token", authorization_response=answer.headers["location"], code_verifier=verifier
        )
        return token
