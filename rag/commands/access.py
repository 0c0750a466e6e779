"""``rag keys`` and ``rag audit``: API keys (secrets shown once, stored as hashes) and the audit log export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rag.commands.common import cli_actor, err, fail, metadata, out
from rag.errors import RagError

__all__ = ["audit_app", "keys_app"]

keys_app = typer.Typer(help="API keys: create, list, revoke (secrets are shown once, stored as hashes).")


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="employee, owner or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    groups: Annotated[list[str] | None, typer.Option(help="Access groups (repeat or comma-separate).")] = None,
    indexes: Annotated[list[str] | None, typer.Option(help="Indexes an owner owns (repeat or comma-separate).")] = None,
) -> None:
    """Create an API key and print its secret (once: only a hash is stored)."""
    from rag.access.audit import AuditLog
    from rag.access.keys import KeyStore

    try:
        with metadata() as db, AuditLog(db).action(cli_actor(), "key.create") as audited:
            audited.details.update(name=name, role=role, groups=_split(groups), indexes=_split(indexes))
            new = KeyStore(db).create(name, role, _split(groups), _split(indexes))
            audited.target = new.key.key_id
    except RagError as exc:
        raise fail(exc.message) from None
    k = new.key
    out.print(f"created {k.role} key {k.key_id} ({k.name}); groups {', '.join(k.groups) or '-'}")
    sys.stdout.write(new.secret + "\n")


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key and line.")] = False,
) -> None:
    """List keys (never their secrets)."""
    from rag.access.keys import KeyStore

    with metadata() as db:
        rows = KeyStore(db).list_keys()
    if as_json:
        for k in rows:
            row = {
                "key_id": k.key_id,
                "name": k.name,
                "role": k.role,
                "groups": k.groups,
                "indexes": k.indexes,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            sys.stdout.write(json.dumps(row) + "\n")
        return
    table = Table("key", "name", "role", "groups", "indexes", "created", "revoked")
    for k in rows:
        table.add_row(
            k.key_id,
            k.name,
            k.role,
            ",".join(k.groups) or "-",
            ",".join(k.indexes) or "-",
            k.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            k.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (from `rag keys list`).")]) -> None:
    """Revoke a key; it stops working at once."""
    from rag.access.audit import AuditLog
    from rag.access.keys import KeyStore

    try:
        with metadata() as db, AuditLog(db).action(cli_actor(), "key.revoke", target=key_id):
            key = KeyStore(db).revoke(key_id)
    except RagError as exc:
        raise fail(exc.message) from None
    out.print(f"revoked key {key.key_id} ({key.name})")


@keys_app.command("bootstrap")
def keys_bootstrap() -> None:
    """Create a local admin key and an employee key when no key exists yet, and print them once."""
    from rag.access.audit import AuditLog
    from rag.access.keys import KeyStore

    with metadata() as db:
        store = KeyStore(db)
        if store.count_active():
            out.print("API keys exist already; nothing created (see `rag keys list`).")
            return
        audit = AuditLog(db)
        created = []
        for role, name in (("admin", "local admin"), ("employee", "local employee")):
            with audit.action(cli_actor(), "key.create") as audited:
                audited.details.update(name=name, role=role, bootstrap=True)
                created.append(store.create(name, role))
                audited.target = created[-1].key.key_id
    out.print("created API keys (shown once; only their hashes are stored):")
    for new in created:
        out.print(f"  {new.key.role:<8} {new.secret}")
    out.print("send one as: Authorization: Bearer <key>")


audit_app = typer.Typer(help="The audit log of state changes and questions.")


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; default: stdout.")] = None,
) -> None:
    """Write every audit entry, oldest first, as JSON Lines."""
    from rag.access.audit import AuditLog

    with metadata() as db:
        log = AuditLog(db)
        handle = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            count = 0
            for entry in log.iter_all():
                handle.write(json.dumps(entry.to_json(), sort_keys=True) + "\n")
                count += 1
        finally:
            if output:
                handle.close()
    if output:
        err.print(f"wrote {count} audit entries to {output}")
