"""What every ``rag`` command shares: the consoles, a clean failure, the operator as audit actor, the metadata DB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from rag.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from rag.access.principal import Principal

__all__ = ["cli_actor", "err", "fail", "metadata", "out"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on standard error; returns the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def cli_actor() -> Principal:
    """Who the audit log names for a command run on this host: the operator, as an admin."""
    import getpass

    from rag.access.principal import system_principal

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return system_principal("cli", f"cli:{user}")


@contextmanager
def metadata() -> Iterator[sa.Engine]:
    """The metadata database alone (keys and audit commands load no model)."""
    import sqlalchemy as sa

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(settings.metadata_url)
    try:
        yield engine
    finally:
        engine.dispose()
