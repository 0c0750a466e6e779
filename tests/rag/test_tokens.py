"""Access tokens of a real OpenID provider on loopback: every check of ``rag.access.tokens`` and the claims mapping."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from rag.access.authenticate import Authenticator
from rag.access.claims import ClaimsMapping, user_key_id
from rag.access.errors import InvalidToken, Unauthorized
from rag.access.keys import KeyStore
from rag.access.tokens import IdentityProviderUnavailable, TokenVerifier
from tests.support.oidc_provider import OidcProvider, running_provider, sign_in


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as p:
        p.set_user("alice", "alice@example.com", ["HR-Staff", "Finance"])
        p.set_user("bob", "bob@example.com", [])
        yield p


def _verifier(provider: OidcProvider, **kw: object) -> TokenVerifier:
    return TokenVerifier(provider.issuer, provider.client.audience, leeway_s=30, min_refresh_s=0, **kw)  # type: ignore[arg-type]


def test_a_signed_in_users_token_is_accepted(provider: OidcProvider) -> None:
    token = sign_in(provider, "alice")
    claims = _verifier(provider).verify(token["access_token"])
    assert (claims["iss"], claims["sub"], claims["aud"]) == (provider.issuer, "alice", "policy-assistant")
    assert claims["groups"] == ["HR-Staff", "Finance"]


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": -120}, "expired"),  # seconds from now, resolved when the test runs (not at collection)
        ({"nbf": 600}, "not yet valid"),
        ({"aud": "another-app"}, "aud"),
        ({"iss": "http://127.0.0.1:1"}, "iss"),
        ({"exp": None}, "exp"),
    ],
    ids=["expired", "not-yet-valid", "other-audience", "other-issuer", "no-expiry"],
)
def test_tokens_failing_a_claim_check_are_refused(provider: OidcProvider, claims: dict[str, Any], message: str) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") and isinstance(v, int) else v for k, v in claims.items()}
    with pytest.raises(InvalidToken, match=message) as caught:
        _verifier(provider).verify(provider.mint("alice", **claims))
    assert caught.value.code == "invalid_token" and caught.value.status == 401


def test_clock_skew_is_allowed(provider: OidcProvider) -> None:
    verifier = _verifier(provider)
    assert verifier.verify(provider.mint("alice", exp=int(time.time()) - 10))["sub"] == "alice"  # within 30 s
    assert verifier.verify(provider.mint("alice", nbf=int(time.time()) + 10))["sub"] == "alice"


def test_a_tampered_token_is_refused(provider: OidcProvider) -> None:
    header, payload, signature = provider.mint("bob").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["groups"] = ["admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(provider).verify(f"{header}.{forged}.{signature}")


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(provider: OidcProvider) -> None:
    kid = provider.signing_key.kid
    assert kid is not None
    stranger = RSAKey.generate_key(2048, parameters={"kid": kid})  # same kid, other key
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(provider).verify(provider.mint("alice", key=stranger))
    unknown = RSAKey.generate_key(2048, parameters={"kid": "nobody-publishes-this"})
    with pytest.raises(InvalidToken, match="does not publish"):
        _verifier(provider).verify(provider.mint("alice", key=unknown))


def test_an_unsigned_token_is_refused(provider: OidcProvider) -> None:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": provider.issuer, "sub": "alice", "aud": "policy-assistant", "exp": int(time.time()) + 60}
    with pytest.raises(InvalidToken):
        _verifier(provider).verify(f"{part({'alg': 'none'})}.{part(claims)}.")


def test_keys_are_cached_and_refetched_once_for_a_rotated_key() -> None:
    with running_provider() as provider:
        provider.set_user("alice", "alice@example.com", [])
        verifier = _verifier(provider)
        for _ in range(3):
            verifier.verify(provider.mint("alice"))
        assert provider.jwks_fetches == 1
        provider.rotate_key()
        verifier.verify(provider.mint("alice"))  # new kid: one refetch
        verifier.verify(provider.mint("alice"))
        assert provider.jwks_fetches == 2
        old = provider.keys[0]
        provider.rotate_key(keep_old=False)  # the first key is withdrawn
        verifier.verify(provider.mint("alice"))
        assert provider.jwks_fetches == 3
        with pytest.raises(InvalidToken, match="does not publish"):
            verifier.verify(provider.mint("alice", key=old))


def test_refetching_is_rate_limited() -> None:
    with running_provider() as provider:
        provider.set_user("alice", "alice@example.com", [])
        verifier = TokenVerifier(provider.issuer, "policy-assistant", min_refresh_s=3600)
        verifier.verify(provider.mint("alice"))
        provider.rotate_key()
        with pytest.raises(InvalidToken, match="does not publish"):
            verifier.verify(provider.mint("alice"))
        assert provider.jwks_fetches == 1  # a flood of unknown kids does not hammer the provider


def test_an_unreachable_provider_is_a_503() -> None:
    verifier = TokenVerifier("http://127.0.0.1:9", "policy-assistant")
    with pytest.raises(IdentityProviderUnavailable) as caught:
        verifier.verify("a.b.c")
    assert caught.value.status == 503


def test_claims_become_a_principal() -> None:
    mapping = ClaimsMapping(
        default_group="everyone",
        group_map={"HR-Staff": ["hr", "people"]},
        admin_groups=["rag-admins"],
        owner_groups={"handbook-editors": ["policies"]},
    )
    base = {"iss": "https://idp.example", "sub": "u1", "email": "u1@example.com"}
    employee = mapping.principal({**base, "groups": ["HR-Staff", "Finance", "Not A Group!"]})
    assert (employee.role, employee.groups, employee.indexes) == ("employee", ["finance", "hr", "people"], [])
    assert employee.key_id == user_key_id("https://idp.example", "u1") and employee.name == "u1@example.com"
    assert employee.user is not None and employee.user.subject == "u1"
    assert mapping.principal({**base}).groups == ["everyone"]  # no group claim: the default group
    owner = mapping.principal({**base, "groups": ["handbook-editors"]})
    assert (owner.role, owner.indexes, owner.owns("policies"), owner.owns("other")) == (
        "owner",
        ["policies"],
        True,
        False,
    )
    admin = mapping.principal({**base, "groups": ["rag-admins"]})
    assert (admin.role, admin.groups, admin.indexes) == ("admin", ["*"], ["*"])
    nested = ClaimsMapping(groups_claim="realm_access.roles")
    assert nested.principal({**base, "realm_access": {"roles": ["hr"]}}).groups == ["hr"]


def test_opaque_and_unknown_tokens_are_told_apart(provider: OidcProvider, tmp_path: object) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    auth = Authenticator(KeyStore(engine), _verifier(provider), ClaimsMapping())
    with pytest.raises(Unauthorized, match="opaque token refused") as caught:
        auth.authenticate("2YotnFZFEjr1zCsicMWpAA")
    assert caught.value.code == "unauthorized"
    with pytest.raises(Unauthorized, match="unknown or revoked API key"):
        auth.authenticate("rag_0123456789abcdef_" + "x" * 43)
    assert auth.authenticate(provider.mint("bob")).user is not None
    keys_only = Authenticator(KeyStore(engine))
    with pytest.raises(Unauthorized, match="not configured"):
        keys_only.authenticate(provider.mint("bob"))
