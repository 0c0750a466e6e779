"""Slack deliveries already received, in the metadata database (shared by every API replica).

Two kinds of keys: a request's signature (the same signed request twice is a replay, refused) and
an event's id (Slack resends an event it thinks was not acknowledged, with ``X-Slack-Retry-Num``
and a new signature: it is acknowledged and not answered again). A key is claimed by one insert,
so two replicas receiving the same retry cannot both answer it. Keys older than a day are pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = ["SlackDeliveries"]

_KEEP = timedelta(days=1)

metadata = sa.MetaData()
deliveries_table = sa.Table(
    "slack_deliveries",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


class SlackDeliveries:
    """Claims delivery keys: the first claim of a key wins, every later one is told it was seen."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed (within a day), False for every repeat."""
        now = datetime.now(UTC)
        try:
            with self._db.begin() as conn:
                conn.execute(sa.delete(deliveries_table).where(deliveries_table.c.received_at < now - _KEEP))
                conn.execute(sa.insert(deliveries_table).values(key=key[:200], received_at=now))
        except IntegrityError:
            return False
        return True
