"""Answer diffs kept with the gate result: per version, the golden set answered on it and on the live version.

A new table (older databases gain it on open), not ``Manifest.evaluation``: one diff holds every
golden question's two answers with their citations (about 1-3 kB a question, some 300 kB for the
sample's 140), and a manifest is read whenever a version is resolved or listed. The manifest keeps
the summary and the thresholds in force; the items are read only by the answer-diff route and
``rag golden stale``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["AnswerDiffs"]

metadata = sa.MetaData()

answer_diffs_table = sa.Table(
    "answer_diffs",
    metadata,
    sa.Column("index_name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("diff", sa.Text, nullable=False),
)


class AnswerDiffs:
    """The stored answer diff of each gated version (JSON objects).

    Guarantees: ``put`` replaces a version's diff in one transaction (a re-gated version keeps only
    its newest diff); ``get`` returns exactly the object that was put.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)

    def put(self, index: str, version: int, diff: dict[str, Any]) -> None:
        """Store ``diff`` as the answer diff of ``index`` v``version``."""
        t = answer_diffs_table
        key = (t.c.index_name == index) & (t.c.version == version)
        with self._db.begin() as conn:
            conn.execute(t.delete().where(key))
            conn.execute(
                t.insert().values(
                    index_name=index, version=version, created_at=datetime.now(UTC), diff=json.dumps(diff)
                )
            )

    def get(self, index: str, version: int) -> dict[str, Any] | None:
        """The answer diff of ``index`` v``version``, or None when it was never gated with one."""
        t = answer_diffs_table
        with self._db.connect() as conn:
            raw = conn.execute(sa.select(t.c.diff).where((t.c.index_name == index) & (t.c.version == version))).scalar()
        return None if raw is None else dict(json.loads(raw))

    def latest_version(self, index: str) -> int | None:
        """The newest version of ``index`` that has an answer diff, or None."""
        t = answer_diffs_table
        with self._db.connect() as conn:
            found = conn.execute(sa.select(sa.func.max(t.c.version)).where(t.c.index_name == index)).scalar()
        return None if found is None else int(found)
