"""Who a caller is: a principal with a role, access groups and owned indexes, whatever identified it.

A principal comes from an API key (``rag.access.keys``), from a token of the company's identity
provider (``rag.access.claims``), or is one of the fixed system callers below (the CLI operator,
the build worker, everyone when authentication is off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest.access_groups import ALL

__all__ = ["ALL", "AUTH_OFF", "ROLES", "Principal", "Role", "UserIdentity", "role_at_least", "system_principal"]

Role = Literal["employee", "owner", "admin"]
ROLES: tuple[Role, ...] = ("employee", "owner", "admin")
"""Roles from least to most privileged; each role may do everything the ones before it may."""


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (admin > owner > employee)."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """A person as the identity provider names them: ``issuer`` + ``subject`` is unique and stable."""

    issuer: str
    subject: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request (or of a CLI command): what it may do and see.

    ``groups`` holds ``*`` when the caller sees every access group; ``indexes`` holds ``*`` when
    it owns every index. ``key_id`` is the short id the audit log, rate limits and answer records
    use: an API key's id, or ``oidc:<hash of issuer and subject>`` for a signed-in user, whose
    full identity is in ``user``.
    """

    key_id: str
    name: str
    role: Role
    groups: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    user: UserIdentity | None = None

    def visible_groups(self, default_group: str) -> list[str] | None:
        """The groups a search of this caller is filtered by; None: no filter (every group)."""
        if ALL in self.groups:
            return None
        return sorted({*self.groups, default_group})

    @property
    def label(self) -> str:
        """How messages name the caller: ``the key 'name'`` or ``the user 'email'``."""
        return f"the user {self.name!r}" if self.user is not None else f"the key {self.name!r}"

    def owns(self, index: str) -> bool:
        """Whether the caller may change ``index`` (admins own every index)."""
        return self.role == "admin" or ALL in self.indexes or index in self.indexes


def system_principal(key_id: str, name: str) -> Principal:
    """An admin that sees every group and owns every index (the CLI operator, the build worker)."""
    return Principal(key_id=key_id, name=name, role="admin", groups=[ALL], indexes=[ALL])


AUTH_OFF = system_principal("auth-disabled", "auth disabled")
"""The caller of every request when ``auth_enabled`` is off."""
