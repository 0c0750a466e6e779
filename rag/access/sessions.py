"""Server-side web sessions: a browser holds only a random session id (in an HttpOnly cookie).

Two tables in the metadata database. ``web_sign_ins`` holds a sign-in in progress (its ``state``,
PKCE ``code_verifier`` and ``nonce``) for at most :data:`SIGN_IN_TTL_S` seconds and is used once.
``web_sessions`` holds a signed-in user's verified token claims and CSRF token under the SHA-256 of
the session id (a leaked table row does not open a session). Guarantees: an expired or deleted
session is never returned; a sign-in state is returned at most once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

__all__ = ["SIGN_IN_TTL_S", "PendingSignIn", "Session", "SessionStore"]

SIGN_IN_TTL_S = 600
"""How long a sign-in may take between leaving for the provider and coming back."""

metadata = sa.MetaData()

sign_ins_table = sa.Table(
    "web_sign_ins",
    metadata,
    sa.Column("state", sa.String(64), primary_key=True),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

sessions_table = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("claims", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A sign-in that left for the provider: what must come back with it."""

    state: str
    code_verifier: str
    nonce: str


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the user's verified token claims and the CSRF token of its pages."""

    claims: dict[str, Any]
    csrf_token: str
    expires_at: float


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore:
    """Sign-ins in progress and web sessions in the metadata database."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._db = engine
        self._clock = clock
        metadata.create_all(engine)

    def begin_sign_in(self) -> PendingSignIn:
        """A new sign-in with fresh random ``state``, PKCE verifier and ``nonce``."""
        pending = PendingSignIn(secrets.token_urlsafe(32), secrets.token_urlsafe(64), secrets.token_urlsafe(32))
        now = self._clock()
        with self._db.begin() as conn:
            conn.execute(sign_ins_table.delete().where(sign_ins_table.c.created_at < now - SIGN_IN_TTL_S))
            conn.execute(
                sign_ins_table.insert().values(
                    state=pending.state, code_verifier=pending.code_verifier, nonce=pending.nonce, created_at=now
                )
            )
        return pending

    def take_sign_in(self, state: str) -> PendingSignIn | None:
        """The sign-in of ``state``, removed (a state works once), or None when unknown or too old."""
        with self._db.begin() as conn:
            row = conn.execute(sa.select(sign_ins_table).where(sign_ins_table.c.state == state[:64])).first()
            if row is None:
                return None
            conn.execute(sign_ins_table.delete().where(sign_ins_table.c.state == row.state))
        if row.created_at < self._clock() - SIGN_IN_TTL_S:
            return None
        return PendingSignIn(str(row.state), str(row.code_verifier), str(row.nonce))

    def create(self, claims: dict[str, Any], max_age_s: float) -> tuple[str, Session]:
        """A new session for ``claims`` lasting ``max_age_s``: its id (for the cookie only) and the session."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(dict(claims), secrets.token_urlsafe(32), now + max_age_s)
        with self._db.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.expires_at < now))
            conn.execute(
                sessions_table.insert().values(
                    id_sha256=_digest(session_id),
                    claims=json.dumps(session.claims, sort_keys=True),
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        """The live session of ``session_id``, or None (unknown, expired or signed out)."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(sessions_table).where(sessions_table.c.id_sha256 == _digest(session_id))
            ).first()
        if row is None or row.expires_at <= self._clock():
            return None
        return Session(dict(json.loads(row.claims)), str(row.csrf_token), float(row.expires_at))

    def delete(self, session_id: str) -> None:
        """End a session (idempotent)."""
        with self._db.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.id_sha256 == _digest(session_id)))
