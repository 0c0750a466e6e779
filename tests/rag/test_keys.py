"""The key store: secrets shown once and stored as hashes, roles, groups, revocation."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from rag.access.keys import KeyNotFound, KeyStore, keys_table
from rag.access.principal import role_at_least
from rag.errors import InvalidInput


@pytest.fixture()
def db() -> sa.Engine:
    return sa.create_engine("sqlite://")


def test_only_the_hash_of_the_secret_is_stored(db: sa.Engine) -> None:
    store = KeyStore(db)
    new = store.create("hr bot", "employee", ["HR", "hr", "finance"])
    assert new.key.groups == ["finance", "hr"]
    token = new.secret
    secret = token.split("_", 2)[2]
    with db.connect() as conn:
        row = conn.execute(sa.select(keys_table)).one()
    assert secret not in str(tuple(row)) and token not in str(tuple(row))
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    principal = store.authenticate(token)
    assert principal is not None and principal.name == "hr bot" and principal.role == "employee"
    assert principal.visible_groups("everyone") == ["everyone", "finance", "hr"]


def test_wrong_malformed_and_revoked_tokens_are_refused(db: sa.Engine) -> None:
    store = KeyStore(db)
    token = store.create("a", "owner", indexes=["policies"]).secret
    key_id = token.split("_")[1]
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.authenticate("not-a-key") is None and store.authenticate("") is None
    assert store.authenticate(f"rag_{'0' * 16}_{'x' * 43}") is None
    store.revoke(key_id)
    first = store.get(key_id)
    assert store.authenticate(token) is None and first is not None and first.revoked_at is not None
    assert store.revoke(key_id).revoked_at == first.revoked_at  # idempotent
    with pytest.raises(KeyNotFound):
        store.revoke("ffffffffffffffff")
    assert store.count_active() == 0


def test_admins_see_everything_and_owners_only_their_indexes(db: sa.Engine) -> None:
    store = KeyStore(db)
    admin = store.create("root", "admin").key.principal
    assert admin.visible_groups("everyone") is None and admin.owns("anything")
    owner = store.create("o", "owner", ["hr"], ["hr-policies"]).key.principal
    assert owner.owns("hr-policies") and not owner.owns("policies")
    assert role_at_least("admin", "owner") and role_at_least("owner", "employee")
    assert not role_at_least("employee", "owner")


@pytest.mark.parametrize(
    ("name", "role", "groups", "indexes"),
    [
        ("", "employee", [], []),
        ("x", "superuser", [], []),
        ("x", "employee", ["no spaces allowed"], []),
        ("x", "employee", [], ["policies"]),
        ("x", "owner", [], ["*"]),
        ("x", "owner", [], ["Bad Index"]),
        ("x", "employee", "hr", []),
    ],
)
def test_bad_keys_are_refused_and_nothing_is_stored(
    db: sa.Engine, name: str, role: str, groups: list[str], indexes: list[str]
) -> None:
    store = KeyStore(db)
    with pytest.raises(InvalidInput):
        store.create(name, role, groups, indexes)
    assert store.list_keys() == []
