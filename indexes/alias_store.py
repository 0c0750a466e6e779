"""Where the embedded (Qdrant Edge) engine keeps its aliases: a tiny protocol over the catalog."""

from __future__ import annotations

from typing import Protocol

__all__ = ["AliasStore"]


class AliasStore(Protocol):
    """Maps an alias name to one (index, version).

    Guarantees every implementation keeps:
    - ``set`` is atomic: a concurrent ``get`` returns the old target or the new one, never
      nothing and never a mix of the two (one row updated in one transaction).
    - ``set`` on an existing alias replaces its target; it never creates a second entry.
    - ``get`` of an alias that was never set (or was deleted) returns None.
    - ``delete`` of an alias that does not exist is a no-op.
    """

    def get(self, alias: str) -> tuple[str, int] | None:
        """The (index, version) ``alias`` points at, or None when it was never set."""
        ...

    def set(self, alias: str, index: str, version: int) -> None:
        """Point ``alias`` at ``index`` version ``version``, creating or replacing it atomically."""
        ...

    def delete(self, alias: str) -> None:
        """Remove ``alias`` (one row deleted in one transaction); a missing alias is a no-op."""
        ...
