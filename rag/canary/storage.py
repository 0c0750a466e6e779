"""Where canary runs are kept: beside the metadata on a server database, in a SQLite file of their own
in embedded mode.

SQLite has one write lock per file. The canary watcher's write (a second's observations and their
counts) held it while its thread waited for the interpreter lock between statements, 27-35 ms of wall
time per batch under 16 clients, and answer records that wanted to commit waited behind it
(docs/benchmarks.md, issue 16, session 9). In a file of its own (``<metadata>-canary.sqlite3``) the
watcher's writes never stand in the way of the answers'. PostgreSQL locks rows, so there the tables
stay in the metadata database.

A data folder of an earlier release keeps its runs in the metadata file: :func:`canary_engine` moves
them to the new file once, at the first start (while the new file has no run). Old and new processes
must not run side by side across the upgrade, as for every migration here.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from indexes.sqlite_pragmas import use_wal
from rag.canary.runs import counts_table, metadata, observations_table, run_releases_table, runs_table

__all__ = ["canary_engine"]

_TABLES = (runs_table, run_releases_table, observations_table, counts_table)
_COPY_ROWS = 5000


def canary_engine(metadata_engine: sa.Engine) -> sa.Engine:
    """The engine canary runs are kept with: ``metadata_engine`` itself unless it is a SQLite file, else
    a SQLite file beside it (runs of an earlier release moved into it once)."""
    url = metadata_engine.url
    if metadata_engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
        return metadata_engine
    path = Path(str(url.database))
    target = path.with_name(f"{path.stem}-canary{path.suffix or '.sqlite3'}")
    engine = sa.create_engine(url.set(database=str(target)), connect_args={"check_same_thread": False, "timeout": 30})
    use_wal(engine)
    metadata.create_all(engine)
    _move_earlier_runs(metadata_engine, engine)
    return engine


def _move_earlier_runs(source: sa.Engine, target: sa.Engine) -> int:
    """Copy every canary table's rows from ``source`` when it has runs and ``target`` has none, then
    empty them in ``source`` (one transaction each side); how many runs moved."""
    if not sa.inspect(source).has_table(runs_table.name):
        return 0
    with target.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(runs_table)).scalar():
            return 0
    with source.connect() as conn:
        present = [t for t in _TABLES if sa.inspect(conn).has_table(t.name)]
        moved = conn.execute(sa.select(sa.func.count()).select_from(runs_table)).scalar() or 0
        if not moved:
            return 0
        try:
            with target.begin() as out:
                for table in present:
                    result = conn.execute(sa.select(table)).mappings()
                    while rows := result.fetchmany(_COPY_ROWS):
                        out.execute(table.insert(), [dict(r) for r in rows])
        except IntegrityError:
            return 0  # another process starting at the same moment moved them
    with source.begin() as conn:
        for table in reversed(present):
            conn.execute(table.delete())
    return int(moved)
