"""The audit log: entries, filters, and proof that no code path updates or deletes one."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from rag.access.audit import AuditLog, audit_table
from rag.access.principal import Principal
from rag.errors import VersionNotFound

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rag", "ingest", "indexes", "prompts", "api")
ALICE = Principal("a1", "alice", "admin", ["*"], ["*"])
BOB = Principal("b2", "bob", "owner", ["hr"], ["hr"])


@pytest.fixture()
def log() -> AuditLog:
    return AuditLog(sa.create_engine("sqlite://"))


def test_actions_record_who_what_and_the_outcome(log: AuditLog) -> None:
    with log.action(ALICE, "promote", index="policies", target="v2") as audited:
        audited.details["previous_version"] = 1
    with pytest.raises(VersionNotFound), log.action(BOB, "promote", index="hr", target="v9"):
        raise VersionNotFound("hr has no version 9")
    with pytest.raises(ZeroDivisionError), log.action(BOB, "retention", index="hr"):
        _ = 1 / 0
    entries = log.entries()
    assert [(e.actor_name, e.action, e.index, e.target, e.outcome) for e in entries] == [
        ("bob", "retention", "hr", None, "error:ZeroDivisionError"),
        ("bob", "promote", "hr", "v9", "version_not_found"),
        ("alice", "promote", "policies", "v2", "ok"),
    ]
    assert entries[-1].details == {"previous_version": 1}
    assert [e.id for e in log.entries(actor="b2")] == [e.id for e in log.entries(actor="bob")] == [3, 2]
    assert [e.id for e in log.entries(action="promote", index="hr")] == [2]
    assert log.entries(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(log.entries(until=datetime.now(UTC) + timedelta(minutes=1), limit=2)) == 2
    assert [e.id for e in log.iter_all()] == [1, 2, 3]


def test_the_audit_table_is_only_ever_inserted_into() -> None:
    """No module updates or deletes audit rows: the table is named only in rag/access/audit.py, which inserts."""
    users = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "audit_table" in path.read_text(encoding="utf-8"):
                users.append(path.relative_to(ROOT).as_posix())
    assert users == ["rag/access/audit.py"]
    tree = ast.parse((ROOT / "rag" / "access" / "audit.py").read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("audit_table", "sa")
    }
    assert "insert" in calls
    assert not calls & {"update", "delete", "text"}, calls
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"action", "entries", "iter_all", "record"}


def test_entries_are_kept_across_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    AuditLog(sa.create_engine(url)).record(ALICE, "key.create", "ok", target="k1")
    reopened = AuditLog(sa.create_engine(url))
    assert [(e.action, e.target) for e in reopened.entries()] == [("key.create", "k1")]
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar() == 1
