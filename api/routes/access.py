"""Access routes: who am I (``/v1/me``), API keys (admins) and the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Admin, CurrentPrincipal
from api.deps import ServicesDep
from api.fields import Name
from api.schemas import ErrorBody
from rag.access.keys import ApiKey, KeyNotFound
from rag.access.principal import Role

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["access"])


class MeOut(BaseModel):
    """The caller: what the web page shows and which admin buttons it offers."""

    key_id: str = Field(description="The key's id, or `oidc:<hash>` for a user signed in with the identity provider.")
    name: str = Field(description="The key's name, or the user's email (else username, else subject).")
    role: Role
    groups: list[str] = Field(description="Access groups; '*' is every group.")
    indexes: list[str] = Field(description="Indexes the caller owns; '*' is every index.")
    kind: Literal["key", "user"] = Field(description="`key` (an API key) or `user` (the identity provider's token).")
    issuer: str | None = Field(None, description="The identity provider that signed the user's token.")
    subject: str | None = Field(None, description="The user's subject (`sub`) at that provider.")
    email: str | None = Field(None, description="The user's email, when the token carries one.")
    csrf_token: str | None = Field(
        None, description="Signed in with the session cookie: the X-CSRF-Token header for state-changing calls."
    )


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name = Field(min_length=1, max_length=200, description="Who or what uses the key.")
    role: Role
    groups: list[Annotated[Name, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="Access groups ('*': every group)."
    )
    indexes: list[Annotated[Name, Field(max_length=63)]] = Field(
        default_factory=list, max_length=100, description="Indexes an owner owns."
    )


class KeyOut(BaseModel):
    """A stored key, without its secret."""

    key_id: str
    name: str
    role: Role
    groups: list[str]
    indexes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    """A key just created; ``secret`` is the bearer token, shown this once and never stored."""

    secret: str


class AuditEntryOut(BaseModel):
    """One audit log entry."""

    id: int
    at: datetime
    actor_id: str
    actor_name: str
    action: str
    index: str | None
    target: str | None
    outcome: str = Field(description="ok, denied, or the error code the action failed with.")
    details: dict[str, Any]


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut.model_validate(key, from_attributes=True)


@router.get("/me", response_model=MeOut)
def me(request: Request, principal: CurrentPrincipal) -> MeOut:
    """The caller (an API key or a signed-in user): its id, name, role, access groups and owned indexes."""
    user = principal.user
    return MeOut(
        key_id=principal.key_id,
        name=principal.name,
        role=principal.role,
        groups=principal.groups,
        indexes=principal.indexes,
        kind="user" if user is not None else "key",
        issuer=user.issuer if user else None,
        subject=user.subject if user else None,
        email=user.email if user else None,
        csrf_token=getattr(request.state, "csrf_token", None),
    )


@router.post(
    "/keys",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"model": ErrorBody, "description": "Bad name, role, group or index."}},
)
def create_key(body: KeyCreate, services: ServicesDep, principal: Admin) -> KeyCreated:
    """Create a key; its secret is in this response only (store it: it cannot be shown again)."""
    with services.audit.action(principal, "key.create") as audited:
        audited.details.update(name=body.name, role=body.role, groups=body.groups, indexes=body.indexes)
        new = services.keys.create(body.name, body.role, body.groups, body.indexes)
        audited.target = new.key.key_id
    return KeyCreated(**_key_out(new.key).model_dump(), secret=new.secret)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(
    services: ServicesDep,
    principal: Admin,
    include_revoked: Annotated[bool, Query(description="Also list revoked keys.")] = True,
) -> list[KeyOut]:
    """Every key, oldest first (never their secrets)."""
    return [_key_out(k) for k in services.keys.list_keys(include_revoked=include_revoked)]


@router.delete(
    "/keys/{key_id}",
    response_model=KeyOut,
    responses={404: {"model": ErrorBody, "description": "Unknown key (``key_not_found``)."}},
)
def revoke_key(key_id: str, services: ServicesDep, principal: Admin) -> KeyOut:
    """Revoke a key: it stops working at once (idempotent; the key stays listed as revoked)."""
    with services.audit.action(principal, "key.revoke", target=key_id[:64]):
        if len(key_id) > 64:
            raise KeyNotFound(f"unknown key {key_id[:64]!r}")
        key = services.keys.revoke(key_id)
    return _key_out(key)


@router.get("/audit", response_model=list[AuditEntryOut])
def audit(
    services: ServicesDep,
    principal: Admin,
    action: Annotated[str | None, Query(max_length=64, description="Only this action (e.g. promote).")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="Only this key id or key name.")] = None,
    index: Annotated[str | None, Query(max_length=128, description="Only this index.")] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Entries at or before this time (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    """Audit entries, newest first: who did what, when, to which index, and the outcome."""
    entries = services.audit.entries(action=action, actor=actor, index=index, since=since, until=until, limit=limit)
    return [AuditEntryOut(**e.to_json()) for e in entries]
