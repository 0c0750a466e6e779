"""The normalized text of every document a build indexed, stored once per distinct content.

Keyed by the document's content hash (SHA-256 of title, NUL, normalized text), so a document that
did not change between versions is stored once however many versions hold it. This is the text
chunk offsets, receipts and "what changed" refer to; it outlives the version's vector storage
(retention drops shards, not texts), and no source file is ever read again to get it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = ["DocumentTexts"]

metadata = sa.MetaData()

document_texts_table = sa.Table(
    "document_texts",
    metadata,
    sa.Column("content_hash", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)


class DocumentTexts:
    """Normalized document texts by content hash (a new table: older databases gain it on open).

    Guarantees: ``put`` never changes a stored text (the hash names its content) and may run in
    several processes at once; ``get`` returns exactly the text that was put.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def put(self, texts: Iterable[tuple[str, str]]) -> int:
        """Store ``(content_hash, text)`` pairs not stored yet; returns how many were new."""
        wanted = dict(texts)
        if not wanted:
            return 0
        with self._db.connect() as conn:
            have = {
                str(h)
                for (h,) in conn.execute(
                    sa.select(document_texts_table.c.content_hash).where(
                        document_texts_table.c.content_hash.in_(list(wanted))
                    )
                )
            }
        added = 0
        for content_hash, text in wanted.items():
            if content_hash in have:
                continue
            try:
                with self._db.begin() as conn:
                    conn.execute(document_texts_table.insert().values(content_hash=content_hash, text=text))
                added += 1
            except IntegrityError:
                continue  # another build stored the same content meanwhile
        return added

    def get(self, content_hash: str) -> str | None:
        """The text stored under ``content_hash``, or None."""
        with self._db.connect() as conn:
            text = conn.execute(
                sa.select(document_texts_table.c.text).where(document_texts_table.c.content_hash == content_hash)
            ).scalar()
        return None if text is None else str(text)
