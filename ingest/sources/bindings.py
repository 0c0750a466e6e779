"""Which source each index is built from, its schedule, and what its last change check saw (metadata database).

One row per index: the spec as JSON (secret *names* only), the check interval, and the last check's
time, outcome and error. A folder binding is also written to the document store's folder table, so
everything that reads an index's folder keeps working.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from indexes.refs import check_index_name
from ingest.sources.specs import AnySpec, parse_every, spec_adapter

__all__ = ["Binding", "SourceBindings"]

Spec = AnySpec

schema = sa.MetaData()

bindings_table = sa.Table(
    "source_bindings",
    schema,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("every_s", sa.Integer),
    sa.Column("next_check_at", sa.DateTime(timezone=True)),
    sa.Column("last_check_at", sa.DateTime(timezone=True)),
    sa.Column("last_change_at", sa.DateTime(timezone=True)),
    sa.Column("last_revision", sa.Text),
    sa.Column("last_error", sa.Text),
)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class Binding:
    """An index's source and its check state (times in UTC; None: never)."""

    index: str
    spec: Spec
    updated_at: datetime
    every_s: int | None
    next_check_at: datetime | None
    last_check_at: datetime | None
    last_change_at: datetime | None
    last_revision: str | None
    last_error: str | None


class SourceBindings:
    """Reads and writes bindings; every write is one transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        schema.create_all(engine)

    def set(self, index: str, spec: Spec, now: datetime | None = None) -> Binding:
        """Bind ``index`` to ``spec`` (replacing any binding); a schedule's first check is due at once."""
        check_index_name(index)
        now = now or datetime.now(UTC)
        every = parse_every(spec.every) if spec.every else None
        values = {
            "kind": spec.kind,
            "spec": spec.model_dump_json(),
            "updated_at": now,
            "every_s": every,
            "next_check_at": now if every else None,
            "last_error": None,
        }
        with self._db.begin() as conn:
            done = conn.execute(
                bindings_table.update().where(bindings_table.c.index_name == index).values(**values)
            ).rowcount
            if not done:
                conn.execute(bindings_table.insert().values(index_name=index, **values))
        got = self.get(index)
        assert got is not None
        return got

    def get(self, index: str) -> Binding | None:
        """The binding of ``index``, or None."""
        with self._db.connect() as conn:
            row = conn.execute(sa.select(bindings_table).where(bindings_table.c.index_name == index)).first()
        return None if row is None else _binding(row)

    def all(self) -> list[Binding]:
        """Every binding, by index name."""
        with self._db.connect() as conn:
            rows = conn.execute(sa.select(bindings_table).order_by(bindings_table.c.index_name)).all()
        return [_binding(r) for r in rows]

    def due(self, now: datetime) -> list[Binding]:
        """Scheduled bindings whose next check is at or before ``now``."""
        return [b for b in self.all() if b.next_check_at is not None and b.next_check_at <= now]

    def record_check(
        self, index: str, now: datetime, *, revision: str | None, changed: bool, error: str | None = None
    ) -> None:
        """Store a check's outcome and schedule the next one (``every_s`` after ``now``)."""
        binding = self.get(index)
        if binding is None:
            return
        values: dict[str, object] = {"last_check_at": now, "last_error": error}
        if revision is not None:
            values["last_revision"] = revision
        if changed:
            values["last_change_at"] = now
        if binding.every_s:
            values["next_check_at"] = now + timedelta(seconds=binding.every_s)
        with self._db.begin() as conn:
            conn.execute(bindings_table.update().where(bindings_table.c.index_name == index).values(**values))


def _binding(row: sa.Row[object]) -> Binding:
    m = row._mapping
    return Binding(
        index=str(m["index_name"]),
        spec=spec_adapter.validate_python(json.loads(str(m["spec"])), strict=False),
        updated_at=_aware(m["updated_at"]) or datetime.now(UTC),
        every_s=m["every_s"],
        next_check_at=_aware(m["next_check_at"]),
        last_check_at=_aware(m["last_check_at"]),
        last_change_at=_aware(m["last_change_at"]),
        last_revision=m["last_revision"],
        last_error=m["last_error"],
    )
