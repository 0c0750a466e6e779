"""Index references as callers write them: ``policies`` (the alias) or ``policies@3`` (a version)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.errors import InvalidInput

__all__ = ["INDEX_NAME", "IndexRef", "check_index_name"]

INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_REF = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]{0,62})(?:@v?(?P<version>[0-9]{1,9}))?$")


def check_index_name(name: str) -> str:
    """Return ``name`` if it is a valid index name (lower-case letters, digits, ``-``, ``_``)."""
    if not INDEX_NAME.fullmatch(name):
        raise InvalidInput(f"invalid index name {name!r}: use 1-63 lower-case letters, digits, '-' or '_'")
    return name


@dataclass(frozen=True, slots=True)
class IndexRef:
    """An index name and, optionally, a pinned version; without one the alias decides."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> IndexRef:
        """Parse ``name`` or ``name@N``; raises ``InvalidInput`` on anything else."""
        match = _REF.fullmatch(text.strip())
        if not match:
            raise InvalidInput(f"invalid index reference {text!r}: expected 'name' or 'name@version'")
        version = match.group("version")
        if version is not None and int(version) < 1:
            raise InvalidInput(f"invalid index reference {text!r}: versions start at 1")
        return cls(name=match.group("name"), version=int(version) if version else None)

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"
