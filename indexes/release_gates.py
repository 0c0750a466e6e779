"""Gate results of releases: what the gate said when a release was checked against the live one.

A new table (older databases gain it on open). A release is checked any number of times (the live
release it is compared with may change); each check replaces the release's stored result, which says
which live release it was compared with.

A release whose stored result failed is not promoted unless the promotion is forced
(:func:`check_gate`: ``GateFailed``, 409 ``gate_failed``); a release never gated is promoted as a
version is (a build's gate decides only that build's own promotion).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from indexes.errors import GateFailed

__all__ = ["ReleaseGates", "check_gate"]

metadata = sa.MetaData()

release_gates_table = sa.Table(
    "release_gates",
    metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
)


class ReleaseGates:
    """The newest gate result of each release (JSON objects). ``put`` replaces it in one transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def put(self, index: str, number: int, result: dict[str, Any]) -> None:
        """Store ``result`` as the gate result of release ``number`` of ``index``."""
        t = release_gates_table
        with self._db.begin() as conn:
            conn.execute(t.delete().where((t.c.index_name == index) & (t.c.number == number)))
            conn.execute(
                t.insert().values(
                    index_name=index, number=number, checked_at=datetime.now(UTC), result=json.dumps(result)
                )
            )

    def get(self, index: str, number: int) -> dict[str, Any] | None:
        """The stored gate result of release ``number`` of ``index``, or None when it was never gated."""
        t = release_gates_table
        with self._db.connect() as conn:
            raw = conn.execute(sa.select(t.c.result).where((t.c.index_name == index) & (t.c.number == number))).scalar()
        return None if raw is None else dict(json.loads(raw))

    def all(self, index: str) -> dict[int, dict[str, Any]]:
        """Every stored gate result of ``index``'s releases, by release number."""
        t = release_gates_table
        with self._db.connect() as conn:
            rows = conn.execute(sa.select(t.c.number, t.c.result).where(t.c.index_name == index)).all()
        return {int(n): dict(json.loads(raw)) for n, raw in rows}


def check_gate(gates: ReleaseGates, index: str, number: int, *, force: bool = False) -> dict[str, Any] | None:
    """Raise GateFailed (409) when release ``number``'s stored gate result failed and ``force`` is off;
    returns the stored result (None: never gated, nothing to check)."""
    result = gates.get(index, number)
    if result is None or result.get("passed", True) or force:
        return result
    reasons = "; ".join(str(r) for r in result.get("reasons") or []) or "no reason given"
    against = result.get("live_release")
    raise GateFailed(
        f"{index} release {number} failed its gate"
        + (f" against release {against}" if against is not None else "")
        + f" ({reasons}); gate it again (POST /v1/indexes/{index}/releases/{number}/gate) or promote with force"
    )
