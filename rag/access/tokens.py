"""Bearer access tokens (JWTs) of the company's identity provider, checked against its published keys.

All token handling is joserfc's (signature, header, claims); this module decides what is required:
the provider's signature with one of the configured asymmetric algorithms, ``iss`` equal to the
configured issuer, ``aud`` holding the configured audience, ``exp`` (required), ``nbf`` and ``iat``
when present, each with the configured clock skew, and a ``sub``. The provider's keys (JWKS) are
found through its discovery document, cached, and fetched again when a token names a key id the
cache does not hold (key rotation), at most once per ``min_refresh_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from rag.access.errors import InvalidToken
from rag.errors import RagError

__all__ = ["IdentityProviderUnavailable", "TokenVerifier", "looks_like_jwt"]


class IdentityProviderUnavailable(RagError):
    """The provider's discovery document or keys cannot be fetched (no token can be checked)."""

    code = "identity_provider_unavailable"
    status = 503


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has a JWS compact shape (three dot-separated parts); says nothing of its validity."""
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


class TokenVerifier:
    """Checks access tokens of one issuer for one audience.

    Guarantees: :meth:`verify` returns a token's claims only when every check above passes, and
    otherwise raises :class:`~rag.access.errors.InvalidToken` saying which failed; the keys are
    fetched once and again only for an unknown key id, never for every token.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        algorithms: Sequence[str] = ("RS256", "PS256", "ES256"),
        leeway_s: int = 60,
        min_refresh_s: float = 30.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._algorithms = list(algorithms)
        self._leeway = leeway_s
        self._min_refresh = min_refresh_s
        self._http = http or httpx.Client(timeout=10.0)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._metadata: dict[str, Any] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once); ``IdentityProviderUnavailable`` if it cannot be."""
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            doc = self._get_json(url)
            if str(doc.get("issuer", "")).rstrip("/") != self.issuer or not doc.get("jwks_uri"):
                raise IdentityProviderUnavailable(f"{url} names another issuer or no jwks_uri")
            self._metadata = doc
        return self._metadata

    def verify(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a valid token; ``InvalidToken`` (401) naming the failed check otherwise.

        ``audience`` replaces the configured one (an ID token's is the client id); ``nonce``, when
        given, must be the token's ``nonce`` claim.
        """
        keys = self._key_set(refresh=False)
        try:
            decoded = jwt.decode(token, keys, algorithms=self._algorithms)
        except jose_errors.InvalidKeyIdError:
            keys = self._key_set(refresh=True)
            decoded = self._decode(token, keys)
        except jose_errors.JoseError as exc:
            raise _invalid(exc) from exc
        except ValueError as exc:  # not base64 or not JSON inside
            raise InvalidToken("the token is not a well-formed JWT") from exc
        options: dict[str, ClaimsOption] = {
            "iss": {"essential": True, "values": [self.issuer, self.issuer + "/"]},
            "aud": {"essential": True, "value": audience or self.audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(now=int(self._clock()), leeway=self._leeway, **options)
        try:
            registry.validate(decoded.claims)
        except jose_errors.JoseError as exc:
            raise _invalid(exc) from exc
        return dict(decoded.claims)

    def close(self) -> None:
        """Release the HTTP connections to the provider."""
        self._http.close()

    def _decode(self, token: str, keys: KeySet) -> jwt.Token:
        try:
            return jwt.decode(token, keys, algorithms=self._algorithms)
        except jose_errors.InvalidKeyIdError as exc:
            raise InvalidToken("the token is signed with a key the identity provider does not publish") from exc
        except jose_errors.JoseError as exc:
            raise _invalid(exc) from exc
        except ValueError as exc:
            raise InvalidToken("the token is not a well-formed JWT") from exc

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            now = time.monotonic()
            if self._keys is None or (refresh and now - self._fetched_at >= self._min_refresh):
                self._keys = KeySet.import_key_set(self._get_json(str(self.metadata["jwks_uri"])))  # type: ignore[arg-type]
                self._fetched_at = now
            return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
            response.raise_for_status()
            value = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityProviderUnavailable(f"cannot read {url} from the identity provider: {exc}") from exc
        if not isinstance(value, dict):
            raise IdentityProviderUnavailable(f"{url} is not a JSON object")
        return value


def _invalid(exc: Exception) -> InvalidToken:
    """The 401 for a joserfc error, in words a caller can act on."""
    if isinstance(exc, jose_errors.ExpiredTokenError):
        return InvalidToken("the token has expired; sign in again")
    if isinstance(exc, jose_errors.BadSignatureError):
        return InvalidToken("the token's signature does not verify")
    if isinstance(exc, jose_errors.MissingClaimError | jose_errors.InvalidClaimError):
        return InvalidToken(f"the token's claims are not accepted: {exc.description}")
    if isinstance(exc, jose_errors.InvalidTokenError):
        return InvalidToken(f"the token is not valid yet or otherwise refused: {exc.description}")
    if isinstance(exc, jose_errors.UnsupportedAlgorithmError | jose_errors.MissingAlgorithmError):
        return InvalidToken("the token is signed with an algorithm that is not accepted")
    return InvalidToken(f"the token is refused: {getattr(exc, 'description', None) or type(exc).__name__}")
