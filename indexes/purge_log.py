"""The purge log: when each document of an index was last purged, so no version can bring it back.

A purge removes a document from every ready version at once (``indexes.purge``), but a build that
collected its files before the purge may still hold the document. The log lets that build drop it
before it seals, and lets promotion refuse any version that holds a document purged after the
version's files were collected. An upload after a purge is a new document: versions collected
after the purge may hold it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

__all__ = ["PurgeLog"]

schema = sa.MetaData()

purges_table = sa.Table(
    "document_purges",
    schema,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("doc_id", sa.String(200), primary_key=True),
    sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class PurgeLog:
    """The last purge time of each purged ``(index, doc_id)``, in the metadata database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        schema.create_all(engine)

    def record(self, index: str, doc_id: str) -> datetime:
        """Record a purge of ``doc_id`` now (before its chunks are deleted); returns the time."""
        at = datetime.now(UTC)
        with self._db.begin() as conn:
            conn.execute(
                purges_table.delete().where(purges_table.c.index_name == index, purges_table.c.doc_id == doc_id)
            )
            conn.execute(purges_table.insert().values(index_name=index, doc_id=doc_id, purged_at=at))
        return at

    def purged_after(self, index: str, since: datetime, doc_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        """Documents of ``index`` purged after ``since`` (among ``doc_ids`` when given), with the time."""
        query = sa.select(purges_table.c.doc_id, purges_table.c.purged_at).where(purges_table.c.index_name == index)
        with self._db.connect() as conn:
            rows = conn.execute(query).all()
        wanted = None if doc_ids is None else set(doc_ids)
        since = _aware(since)
        return {
            str(doc): _aware(at) for doc, at in rows if _aware(at) > since and (wanted is None or str(doc) in wanted)
        }
