"""Who sent a bearer token: an API key, or an access token of the company's identity provider.

``rag_...`` tokens are API keys (``rag.access.keys``); JWTs are checked by the provider's
:class:`~rag.access.tokens.TokenVerifier` when one is configured and mapped to a principal by
:class:`~rag.access.claims.ClaimsMapping`; anything else (an opaque token) is refused with a
message saying what is accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.access.claims import ClaimsMapping
from rag.access.errors import Unauthorized
from rag.access.keys import KeyStore, is_api_key
from rag.access.principal import Principal
from rag.access.tokens import TokenVerifier, looks_like_jwt

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = ["Authenticator", "build_authenticator"]


class Authenticator:
    """Turns a bearer token into a principal, or raises a 401 (``unauthorized`` or ``invalid_token``)."""

    def __init__(self, keys: KeyStore, verifier: TokenVerifier | None = None, claims: ClaimsMapping | None = None):
        self.keys = keys
        self.verifier = verifier
        self.claims = claims or ClaimsMapping()

    def authenticate(self, token: str) -> Principal:
        """The caller of ``token``; never a principal for a revoked key or a token failing any check."""
        token = token.strip()
        if is_api_key(token):
            principal = self.keys.authenticate(token)
            if principal is None:
                raise Unauthorized("unknown or revoked API key")
            return principal
        if self.verifier is None:
            if token.startswith("rag_"):
                raise Unauthorized("unknown or revoked API key")
            raise Unauthorized(
                "not an API key; sign-in with the identity provider is not configured (RAG_OIDC_ISSUER), "
                "so only API keys ('Authorization: Bearer rag_...') are accepted"
            )
        if not looks_like_jwt(token):
            if token.startswith("rag_"):
                raise Unauthorized("unknown or revoked API key")
            raise Unauthorized(
                "opaque token refused: send a JWT access token issued by "
                f"{self.verifier.issuer} for the audience {self.verifier.audience!r}, or an API key"
            )
        return self.claims.principal(self.verifier.verify(token))


def build_authenticator(settings: Settings, keys: KeyStore) -> Authenticator:
    """API keys always; the identity provider's tokens too when ``oidc_issuer`` is set.

    Nothing is fetched here: the provider's discovery document and keys are read at the first token.
    """
    if settings.oidc_issuer is None:
        return Authenticator(keys)
    audience = settings.oidc_audience or settings.oidc_client_id
    assert audience is not None  # Settings refuses an issuer without one
    verifier = TokenVerifier(
        settings.oidc_issuer,
        audience,
        algorithms=settings.oidc_algorithms,
        leeway_s=settings.oidc_clock_skew_s,
        min_refresh_s=settings.oidc_jwks_min_refresh_s,
    )
    claims = ClaimsMapping(
        default_group=settings.default_access_group,
        groups_claim=settings.oidc_groups_claim,
        group_map=settings.oidc_group_map,
        admin_groups=settings.oidc_admin_groups,
        owner_groups=settings.oidc_owner_groups,
    )
    return Authenticator(keys, verifier, claims)
