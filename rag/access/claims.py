"""Identity-provider claims to a principal: who the user is, their access groups and their role.

The configured groups claim (``groups`` by default; ``realm_access.roles`` reaches into an
object) lists the user's provider groups. Each maps to access groups through ``group_map``, or is
used as an access group itself when it is a valid group name (upper case is lowered); others are
ignored. A user with no access group gets the default group. Membership of an ``admin_groups``
group makes an admin (who sees every group and owns every index, as an admin key does); of an
``owner_groups`` group, an owner of its indexes; anyone else is an employee. Everything is read
from the token alone, so a user moved between groups has their new rights from their next token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.access_groups import ALL, is_group_name
from rag.access.principal import Principal, Role, UserIdentity

__all__ = ["ClaimsMapping", "user_key_id"]


def user_key_id(issuer: str, subject: str) -> str:
    """The short stable id of a user (``oidc:`` + 16 hex digits of SHA-256 of issuer and subject)."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"oidc:{digest[:16]}"


@dataclass(frozen=True, slots=True)
class ClaimsMapping:
    """How token claims become a principal (the ``oidc_*`` settings)."""

    default_group: str = "everyone"
    groups_claim: str = "groups"
    group_map: Mapping[str, Sequence[str]] = field(default_factory=dict)
    admin_groups: Sequence[str] = ()
    owner_groups: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def provider_groups(self, claims: Mapping[str, Any]) -> list[str]:
        """The user's groups as the provider names them (a list claim, or one space- or comma-separated string)."""
        value: Any = claims
        for part in self.groups_claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if not isinstance(value, list | tuple):
            return []
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The principal of a verified token's claims (``iss`` and ``sub`` are present: the verifier requires them)."""
        issuer, subject = str(claims["iss"]), str(claims["sub"])
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        theirs = self.provider_groups(claims)
        role: Role = "employee"
        indexes: set[str] = set()
        if any(g in self.admin_groups for g in theirs):
            role = "admin"
        else:
            for g in theirs:
                indexes.update(self.owner_groups.get(g, ()))
            if indexes:
                role = "owner"
        groups: set[str] = set()
        for g in theirs:
            if g in self.group_map:
                groups.update(self.group_map[g])
            elif is_group_name(g.lower()):
                groups.add(g.lower())
        if role == "admin":
            groups, indexes = {ALL}, {ALL}
        display = email or _text(claims, "preferred_username") or _text(claims, "name") or subject
        return Principal(
            key_id=user_key_id(issuer, subject),
            name=display[:200],
            role=role,
            groups=sorted(groups or {self.default_group}),
            indexes=sorted(indexes),
            user=UserIdentity(issuer=issuer, subject=subject, email=email),
        )


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
