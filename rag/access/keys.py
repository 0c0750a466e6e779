"""API keys: callers identified by a key (a principal with a role, access groups and owned indexes).

A key reads ``rag_<key_id>_<secret>``. Only the SHA-256 of the secret is stored: the secret is
32 random bytes (``secrets.token_urlsafe``), so a fast hash cannot be brute-forced and a slow KDF
would only cost latency on every request (docs/adr/0007-auth-keys-and-access-groups.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ingest.access_groups import check_groups
from rag.access.principal import ALL, ROLES, Principal, Role
from rag.errors import InvalidInput, NotFound

__all__ = ["ApiKey", "KeyNotFound", "KeyStore", "NewKey", "is_api_key", "keys_table"]

_KEY = re.compile(r"^rag_([0-9a-f]{16})_([A-Za-z0-9_-]{20,128})$")
_NAME_MAX = 200

metadata = sa.MetaData()

keys_table = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(_NAME_MAX), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("groups", sa.Text, nullable=False),
    sa.Column("indexes", sa.Text, nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


class KeyNotFound(NotFound):
    code = "key_not_found"


def is_api_key(token: str) -> bool:
    """Whether a bearer token has the shape of an API key (``rag_<key_id>_<secret>``)."""
    return _KEY.fullmatch(token.strip()) is not None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    name: str
    role: Role
    groups: list[str]
    indexes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(self.key_id, self.name, self.role, list(self.groups), list(self.indexes))


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: the only moment its ``secret`` (the full bearer token) is known."""

    key: ApiKey
    secret: str


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyStore:
    """API keys in the metadata database.

    Guarantees: a secret is returned once, by :meth:`create`, and only its SHA-256 is stored;
    :meth:`authenticate` compares digests in constant time and never accepts a revoked key.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def create(self, name: str, role: str, groups: Sequence[str] = (), indexes: Sequence[str] = ()) -> NewKey:
        """A new key; ``InvalidInput`` for an empty name, an unknown role or a bad group or index.

        Admins see every group and own every index unless ``groups`` restricts them.
        """
        from indexes.refs import check_index_name

        name = name.strip()
        if not name or len(name) > _NAME_MAX:
            raise InvalidInput(f"key name must be 1-{_NAME_MAX} characters")
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        group_list = check_groups(groups, allow_all=True)
        if isinstance(indexes, str):
            raise InvalidInput("indexes must be a list of index names")
        index_list = sorted({i for i in indexes if i == ALL or check_index_name(i)})
        if role == "admin":
            group_list = group_list or [ALL]
            index_list = [ALL]
        elif role == "employee" and index_list:
            raise InvalidInput("only owners own indexes; an employee key takes no indexes")
        elif ALL in index_list:
            raise InvalidInput("only admin keys own every index ('*')")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = _now()
        with self._db.begin() as conn:
            conn.execute(
                keys_table.insert().values(
                    key_id=key_id,
                    name=name,
                    role=role,
                    groups=json.dumps(group_list),
                    indexes=json.dumps(index_list),
                    secret_sha256=_digest(secret),
                    created_at=now,
                )
            )
        key = ApiKey(key_id, name, role, group_list, index_list, now, None)
        return NewKey(key=key, secret=f"rag_{key_id}_{secret}")

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a bearer token, or None when it is malformed, unknown or revoked."""
        match = _KEY.fullmatch(token.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        with self._db.connect() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(str(row.secret_sha256), _digest(secret)):
            return None
        return _key(row).principal

    def get(self, key_id: str) -> ApiKey | None:
        """A key by id (revoked ones too), or None."""
        with self._db.connect() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def list_keys(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Every key, oldest first."""
        query = sa.select(keys_table).order_by(keys_table.c.created_at, keys_table.c.key_id)
        if not include_revoked:
            query = query.where(keys_table.c.revoked_at.is_(None))
        with self._db.connect() as conn:
            return [_key(r) for r in conn.execute(query).all()]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent: a revoked key keeps its first revocation time); ``KeyNotFound``."""
        with self._db.begin() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.key_id == key_id)).first()
            if row is None:
                raise KeyNotFound(f"unknown key {key_id!r}")
            if row.revoked_at is None:
                conn.execute(keys_table.update().where(keys_table.c.key_id == key_id).values(revoked_at=_now()))
        key = self.get(key_id)
        assert key is not None
        return key

    def count_active(self) -> int:
        """How many keys are not revoked."""
        with self._db.connect() as conn:
            query = sa.select(sa.func.count()).select_from(keys_table).where(keys_table.c.revoked_at.is_(None))
            return int(conn.execute(query).scalar() or 0)


def _key(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(
        key_id=str(row.key_id),
        name=str(row.name),
        role=row.role,
        groups=list(json.loads(row.groups)),
        indexes=list(json.loads(row.indexes)),
        created_at=_aware(row.created_at) or _now(),
        revoked_at=_aware(row.revoked_at),
    )
