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

__all__ = ["cli_actor", "err", "fail", "load_settings", "metadata", "out"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on standard error; returns the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def unknown_index(index: str, known: list[str], command: str) -> typer.Exit:
    """``fail`` for an index with no version, naming the indexes there are (or how to build one), so
    a user whose index is not the default name sees what to type."""
    if not known:
        return fail(f"unknown index {index!r}: no index has been built yet (rag ingest FOLDER --index NAME)")
    names = ", ".join(known)
    return fail(f"unknown index {index!r}; the indexes here are {names} (name one: rag {command} {known[0]})")


def load_settings() -> Settings:
    """The settings from the environment (and ``.env``); a bad ``RAG_*`` value ends the command with
    ``error: RAG_NAME: why`` for each bad one and exit status 2, never a traceback."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        bad = "; ".join(
            f"RAG_{'_'.join(str(p) for p in e['loc'][:1]).upper()}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
        raise fail(f"invalid settings: {bad}", code=2) from None


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

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(settings.metadata_url)
    try:
        yield engine
    finally:
        engine.dispose()
