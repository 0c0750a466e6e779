"""The audit log: an append-only table of every state-changing action and every question.

Append-only by construction: this module has an insert and reads, and no update or delete path
(``tests/rag/test_audit.py`` checks the source for one). Each entry says who (key id and name; for a user signed in
with the identity provider ``oidc:<hash>`` and their email or subject, with issuer, subject and
email in ``details.actor``),
when, what (action, index, target, details) and the outcome (``ok``, ``denied`` or an error code).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rag.access.principal import Principal
from rag.errors import RagError

__all__ = ["AuditEntry", "AuditLog", "Audited", "question_digest"]

metadata = sa.MetaData()

audit_table = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor_id", sa.String(64), nullable=False, index=True),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("index_name", sa.String(128), index=True),
    sa.Column("target", sa.String(400)),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)


def question_digest(question: str) -> str:
    """What the log keeps of a question when only a hash is stored: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(question.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record."""

    id: int
    at: datetime
    actor_id: str
    actor_name: str
    action: str
    index: str | None
    target: str | None
    outcome: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON-safe dict (one line of ``rag audit export``)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "index": self.index,
            "target": self.target,
            "outcome": self.outcome,
            "details": self.details,
        }


@dataclass
class Audited:
    """An action in progress (see :meth:`AuditLog.action`); handlers add ``details`` as they learn them."""

    details: dict[str, Any] = field(default_factory=dict)
    target: str | None = None


class AuditLog:
    """Appends audit entries to the metadata database and reads them back."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def record(
        self,
        actor: Principal,
        action: str,
        outcome: str,
        *,
        index: str | None = None,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry (its own transaction).

        A signed-in user's issuer, subject and email are written into ``details.actor``.
        """
        if actor.user is not None:
            user = actor.user
            who = {"issuer": user.issuer, "subject": user.subject, "email": user.email}
            details = {**(details or {}), "actor": who}
        with self._db.begin() as conn:
            conn.execute(
                audit_table.insert().values(
                    at=datetime.now(UTC),
                    actor_id=actor.key_id,
                    actor_name=actor.name,
                    action=action,
                    index_name=index,
                    target=None if target is None else target[:400],
                    outcome=outcome[:64],
                    details=json.dumps(details or {}, sort_keys=True, default=str),
                )
            )

    @contextmanager
    def action(
        self, actor: Principal, action: str, *, index: str | None = None, target: str | None = None
    ) -> Iterator[Audited]:
        """Record ``action`` when the block ends: outcome ``ok``, or the error's code (re-raised)."""
        audited = Audited(target=target)
        try:
            yield audited
        except RagError as exc:
            self.record(actor, action, exc.code, index=index, target=audited.target, details=audited.details)
            raise
        except Exception as exc:
            self.record(
                actor,
                action,
                f"error:{type(exc).__name__}",
                index=index,
                target=audited.target,
                details=audited.details,
            )
            raise
        self.record(actor, action, "ok", index=index, target=audited.target, details=audited.details)

    def entries(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        index: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
    ) -> list[AuditEntry]:
        """Entries newest first; ``actor`` matches the key id or the key name; times are inclusive."""
        query = sa.select(audit_table).order_by(audit_table.c.id.desc())
        if action is not None:
            query = query.where(audit_table.c.action == action)
        if actor is not None:
            query = query.where(sa.or_(audit_table.c.actor_id == actor, audit_table.c.actor_name == actor))
        if index is not None:
            query = query.where(audit_table.c.index_name == index)
        if since is not None:
            query = query.where(audit_table.c.at >= _utc(since))
        if until is not None:
            query = query.where(audit_table.c.at <= _utc(until))
        if limit is not None:
            query = query.limit(limit)
        with self._db.connect() as conn:
            return [_entry(r) for r in conn.execute(query).all()]

    def iter_all(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (``rag audit export``)."""
        with self._db.connect() as conn:
            for row in conn.execute(sa.select(audit_table).order_by(audit_table.c.id)):
                yield _entry(row)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        at=_utc(row.at),
        actor_id=str(row.actor_id),
        actor_name=str(row.actor_name),
        action=str(row.action),
        index=row.index_name,
        target=row.target,
        outcome=str(row.outcome),
        details=dict(json.loads(row.details)),
    )
