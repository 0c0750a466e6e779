"""How the metadata database's SQLite connections are opened: write-ahead log, one fsync per checkpoint.

Every answer writes two rows (the answer record and the audit entry). With SQLite's defaults
(rollback journal, ``synchronous=FULL``) each of those commits syncs the journal and the database
to disk, and concurrent requests queue on the file lock: under 16 concurrent clients that was a
quarter of the server's busy time (docs/benchmarks.md, answers per core). In WAL mode a commit
appends to the log; with ``synchronous=NORMAL`` it is not synced until a checkpoint, and readers
never wait for a writer. A committed transaction survives a crash of the process; a power loss
may lose the last commits before a checkpoint, never corrupt the database (SQLite's documented
guarantee for WAL + NORMAL).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["use_wal"]


def use_wal(engine: sa.Engine) -> None:
    """Open every new SQLite connection of ``engine`` in WAL mode with ``synchronous=NORMAL``.

    A no-op for other databases and for in-memory SQLite (which has no log to write ahead).
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()
