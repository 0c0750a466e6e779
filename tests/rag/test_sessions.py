"""Server-side web sessions and pending sign-ins: expiry, one use, sign-out, nothing secret stored."""

from __future__ import annotations

import sqlalchemy as sa

from rag.access.sessions import SIGN_IN_TTL_S, SessionStore, sessions_table


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_and_end_at_sign_out() -> None:
    clock = Clock()
    engine = sa.create_engine("sqlite://")
    store = SessionStore(engine, clock=clock)
    session_id, session = store.create({"iss": "https://idp", "sub": "u1"}, max_age_s=3600)
    found = store.get(session_id)
    assert found is not None and found.claims["sub"] == "u1" and found.csrf_token == session.csrf_token
    with engine.connect() as conn:
        (stored,) = conn.execute(sa.select(sessions_table.c.id_sha256)).scalars().all()
    assert stored != session_id and session_id not in stored  # only its digest is kept
    clock.now += 3601
    assert store.get(session_id) is None  # expired
    other_id, _ = store.create({"iss": "https://idp", "sub": "u2"}, max_age_s=3600)
    store.delete(other_id)
    assert store.get(other_id) is None and store.get("made-up") is None


def test_a_sign_in_state_is_taken_once_and_only_while_fresh() -> None:
    clock = Clock()
    store = SessionStore(sa.create_engine("sqlite://"), clock=clock)
    first, second = store.begin_sign_in(), store.begin_sign_in()
    assert len({first.state, second.state}) == 2 and len(first.code_verifier) >= 43  # RFC 7636: 43-128
    assert store.take_sign_in(first.state) == first
    assert store.take_sign_in(first.state) is None
    clock.now += SIGN_IN_TTL_S + 1
    assert store.take_sign_in(second.state) is None
