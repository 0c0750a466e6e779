"""Canary releases: the alias ``<index>:canary`` names a version that answers a share of the traffic.

Where a canary lives: the engine alias ``<index>:canary`` names its version (a catalog row for
Qdrant Edge, a real alias on a Qdrant server), and the catalog's ``canaries`` table holds its share
(``0 < share <= 1``) of the questions that name no version. Both changes are recorded in the alias
history of ``<index>:canary`` with the actions ``canary`` and ``canary_removed`` (and, from the
canary analysis, ``canary_rolled_back`` and ``canary_ready`` with their reason); the live alias's
own history (what rollback walks) never sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from rag.errors import InvalidInput

__all__ = [
    "CANARY_ACTION",
    "CANARY_ACTIONS",
    "CANARY_LABEL",
    "CANARY_READY_ACTION",
    "CANARY_REMOVED_ACTION",
    "CANARY_ROLLED_BACK_ACTION",
    "DEFAULT_CANARY_SHARE",
    "Canary",
    "CanaryStore",
    "canary_alias",
    "check_share",
]

CANARY_LABEL = "canary"
"""The label of the canary alias: ``policies:canary``."""

CANARY_ACTION = "canary"
"""Alias-history action recorded when a canary is set or changed."""

CANARY_REMOVED_ACTION = "canary_removed"
"""Alias-history action recorded when a canary is removed (by hand, or because it went live)."""

DEFAULT_CANARY_SHARE = 0.1
"""The share a canary started by a build answers when its source binding names none (a tenth)."""

CANARY_ROLLED_BACK_ACTION = "canary_rolled_back"
"""Alias-history action recorded when the canary analysis removes a canary that did worse than live."""

CANARY_READY_ACTION = "canary_ready"
"""Alias-history action recorded when the canary analysis marks a canary ready for a person to
promote (the alias does not move)."""

CANARY_ACTIONS = frozenset({CANARY_ACTION, CANARY_REMOVED_ACTION, CANARY_ROLLED_BACK_ACTION, CANARY_READY_ACTION})
"""Actions that are about canaries, never about the live alias."""


def canary_alias(index: str) -> str:
    """The name of ``index``'s canary alias."""
    return f"{index}:{CANARY_LABEL}"


def check_share(share: float) -> float:
    """Return ``share`` if it is a number with ``0 < share <= 1``; raise InvalidInput otherwise."""
    if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share):
        raise InvalidInput(f"invalid canary share {share!r}: use a number with 0 < share <= 1")
    if not 0.0 < share <= 1.0:
        raise InvalidInput(f"invalid canary share {share!r}: use a number with 0 < share <= 1")
    return float(share)


@dataclass(frozen=True, slots=True)
class Canary:
    """An index's canary: the version its canary alias names and the share of traffic it answers."""

    index: str
    version: int
    share: float
    release: int | None = None
    """The release the canary answers with (None: a canary set without one, before releases)."""

    @property
    def alias(self) -> str:
        """The canary alias, ``<index>:canary``."""
        return canary_alias(self.index)


class CanaryStore:
    """Reads and writes canaries; checks nothing about versions (the registry does that).

    Guarantees: setting a canary points the alias before the share is written, and removing one
    deletes the share before the alias, so a reader that sees a share always finds an alias; a
    share whose alias has vanished (its version was dropped) reads as no canary.
    """

    def __init__(self, catalog: Catalog, engine: VectorEngine) -> None:
        self._catalog = catalog
        self._engine = engine

    def get(self, index: str) -> Canary | None:
        """The index's canary, or None when it has none."""
        share = self._catalog.get_canary_share(index)
        if share is None:
            return None
        alias = canary_alias(index)
        target = self._engine.resolve_alias(alias)
        if target is None or target[0] != index:
            return None
        release = self._catalog.get_release_alias(alias)
        number = release[1] if release is not None and release[0] == index else None
        return Canary(index=index, version=target[1], share=share, release=number)

    def put(
        self, index: str, version: int, share: float, *, release: int | None = None, actor: str | None = None
    ) -> Canary:
        """Make ``version`` (as release ``release``, when given) the canary with ``share`` (replacing any
        canary) and record it; the canary alias names the release in the event's transaction."""
        share = check_share(share)
        previous = self.get(index)
        alias = canary_alias(index)
        self._engine.set_alias(alias, index, version)
        self._catalog.set_canary_share(index, share)
        self._catalog.record_alias_event(
            alias,
            index,
            version,
            previous.version if previous else None,
            CANARY_ACTION,
            actor,
            release=release,
            point="set",
        )
        return Canary(index=index, version=version, share=share, release=release)

    def remove(
        self, index: str, *, action: str = CANARY_REMOVED_ACTION, actor: str | None = None, reason: str | None = None
    ) -> Canary | None:
        """Remove the canary (the share first, then the alias); returns the one removed, if any.

        The history event has ``action`` (``canary_removed``, or ``canary_rolled_back`` from the
        canary analysis) and, when given, who removed it and why.
        """
        current = self.get(index)
        alias = canary_alias(index)
        self._catalog.delete_canary_share(index)
        self._engine.delete_alias(alias)
        if current is not None:
            self._catalog.record_alias_event(
                alias,
                index,
                current.version,
                current.version,
                action,
                actor,
                reason,
                release=current.release,
                point="clear",
            )
        else:
            self._catalog.set_release_alias(alias, index, None)
        return current

    def note(self, canary: Canary, action: str, actor: str, reason: str) -> None:
        """Record an event about ``canary`` in its alias history without moving the alias (``canary_ready``)."""
        self._catalog.record_alias_event(
            canary.alias, canary.index, canary.version, canary.version, action, actor, reason, release=canary.release
        )
