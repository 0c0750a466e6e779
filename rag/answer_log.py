"""The answer records: every answer with its question, citations, version, prompt, model and timings.

Each stored record also remembers the key that asked (``asked_by``), so feedback on an answer can
be limited to the caller who received it; :meth:`AnswerLog.get` returns the record without it,
exactly as the caller received it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["AnswerLog", "as_received"]

metadata = sa.MetaData()

_ASKED_BY = "asked_by"
_CONTEXT = "receipt_context"
_PRIVATE = (_ASKED_BY, _CONTEXT)

answers_table = sa.Table(
    "answers",
    metadata,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("refused", sa.Boolean, nullable=False),
    sa.Column("index_name", sa.String(128), nullable=False),
    sa.Column("index_version", sa.Integer, nullable=False),
    sa.Column("alias", sa.String(160)),
    sa.Column("prompt", sa.String(64), nullable=False),
    sa.Column("model_provider", sa.String(32), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("citations_dropped", sa.Integer, nullable=False, default=0),
    sa.Column("record", sa.Text, nullable=False),
)


def as_received(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored record without what the log adds (``asked_by``, the receipt context): the record its
    caller received."""
    return {k: v for k, v in stored.items() if k not in _PRIVATE}


class AnswerLog:
    """Stores answer records in the metadata database (one row per answer, never updated)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def save(
        self, record: dict[str, Any], *, asked_by: str | None = None, context: dict[str, Any] | None = None
    ) -> None:
        """Append one answer record (the full record is kept as JSON next to indexed columns).

        ``asked_by`` is the key id of the caller who received the answer (None: asked without a key,
        e.g. from the command line); it is stored with the record, not in an extra column, so
        databases created before it need no migration. ``context`` (what a receipt needs beyond the
        record: the retrieval settings then) is kept the same way.
        """
        stored = {**record, _ASKED_BY: asked_by} if asked_by is not None else dict(record)
        if context is not None:
            stored[_CONTEXT] = context
        with self._db.begin() as conn:
            conn.execute(
                answers_table.insert().values(
                    answer_id=record["answer_id"],
                    created_at=datetime.now(UTC),
                    question=record["question"],
                    answer=record["answer"],
                    refused=record["refused"],
                    index_name=record["index"]["name"],
                    index_version=record["index"]["version"],
                    alias=record["index"]["alias"],
                    prompt=f"{record['prompt']['name']}/{record['prompt']['version']}",
                    model_provider=record["model"]["provider"],
                    model_name=record["model"]["name"],
                    citations_dropped=record.get("citations_dropped", 0),
                    record=json.dumps(stored, default=str),
                )
            )

    def _stored(self, answer_id: str) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = conn.execute(sa.select(answers_table.c.record).where(answers_table.c.answer_id == answer_id)).first()
        return None if row is None else dict(json.loads(row[0]))

    def get(self, answer_id: str) -> dict[str, Any] | None:
        """The record of an answer as its caller received it, or None."""
        stored = self._stored(answer_id)
        return None if stored is None else as_received(stored)

    def asked_by(self, answer_id: str) -> str | None:
        """The key id that received the answer; None for an unknown answer or one asked without a key."""
        stored = self._stored(answer_id)
        value = stored.get(_ASKED_BY) if stored is not None else None
        return value if isinstance(value, str) else None

    def receipt_context(self, answer_id: str) -> tuple[datetime, dict[str, Any]] | None:
        """When the answer was recorded and its receipt context ({} for answers recorded without one);
        None for an unknown answer."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(answers_table.c.created_at, answers_table.c.record).where(
                    answers_table.c.answer_id == answer_id
                )
            ).first()
        if row is None:
            return None
        at: datetime = row[0] if row[0].tzinfo is not None else row[0].replace(tzinfo=UTC)
        context = json.loads(row[1]).get(_CONTEXT)
        return at, dict(context) if isinstance(context, dict) else {}

    def count(self) -> int:
        """How many answers are stored."""
        with self._db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(answers_table)).scalar() or 0)
