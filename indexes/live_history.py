"""Which version was live when: the live alias's history as spans, and the version live at a moment.

The live alias of an index (named like the index) is switched only by promote and rollback, and
every switch is an alias event naming the version it switched to; so the version live at a
moment is the one named by the last event at or before it, live from that event until the next
one. Canary events are recorded on ``<index>:canary`` and never count: a canary never answers
for a moment in the past.

    RagError
    ├── NotFound
    │   └── NoVersionLiveThen  (404) the moment is before the index's first promotion
    └── VersionDropped        (410) the version live then was dropped by retention
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from indexes.canary import CANARY_ACTIONS
from indexes.catalog import AliasEvent, Catalog
from rag.errors import IndexNotFound, NotFound, RagError

__all__ = ["LiveSpan", "NoVersionLiveThen", "VersionDropped", "live_at", "live_spans"]


class NoVersionLiveThen(NotFound):
    """No version of the index was live at the moment asked about (before its first promotion)."""

    code = "no_version_live_then"


class VersionDropped(RagError):
    """The version live at the moment asked about was dropped by retention: its chunks are gone."""

    code = "version_dropped"
    status = 410

    def __init__(self, index: str, version: int, dropped_at: datetime | None) -> None:
        when = f"at {dropped_at.isoformat()}" if dropped_at is not None else "(time not recorded)"
        super().__init__(
            f"{index} v{version} was live then, but retention dropped it {when}; its manifest is still listed"
        )
        self.index = index
        self.version = version
        self.dropped_at = dropped_at


@dataclass(frozen=True, slots=True)
class LiveSpan:
    """A version's time as the live one: ``[live_from, live_until)``; ``live_until`` None while it lasts.

    ``action`` is the switch that began the span (``promote``, ``rollback``, ...) and ``actor`` who
    made it (None where that was not recorded).
    """

    index: str
    version: int
    live_from: datetime
    live_until: datetime | None
    action: str
    actor: str | None
    previous_version: int | None
    release: int | None = None
    """The release the switch named (None: an event recorded without one)."""


def _span(event: AliasEvent, following: AliasEvent | None) -> LiveSpan:
    return LiveSpan(
        index=event.index,
        version=event.version,
        live_from=event.at,
        live_until=None if following is None else following.at,
        action=event.action,
        actor=event.actor,
        previous_version=event.previous_version,
        release=event.release,
    )


def live_spans(events: Sequence[AliasEvent]) -> list[LiveSpan]:
    """The live alias's history (oldest first) as one span per switch; canary events are skipped."""
    switches = [e for e in events if e.action not in CANARY_ACTIONS]
    return [_span(e, switches[i + 1] if i + 1 < len(switches) else None) for i, e in enumerate(switches)]


def live_at(catalog: Catalog, index: str, moment: datetime) -> LiveSpan:
    """The span of the version that was live at ``moment`` (an aware datetime).

    Raises IndexNotFound for an index without versions and NoVersionLiveThen for a moment before
    its first promotion. Says nothing about the version's state: see ``VersionRegistry.resolve_as_of``.
    Costs one indexed query, however long the history.
    """
    if moment.tzinfo is None:
        raise ValueError("live_at needs an aware datetime")
    found = catalog.alias_event_at(index, moment)
    if found is None:
        if not catalog.list_versions(index):
            raise IndexNotFound(f"unknown index {index!r}")
        first = catalog.first_alias_event(index)
        since = f"; its first version went live at {first.at.isoformat()}" if first else "; none was ever promoted"
        raise NoVersionLiveThen(f"no version of {index!r} was live at {moment.isoformat()}{since}")
    event, until = found
    return LiveSpan(
        index=event.index,
        version=event.version,
        live_from=event.at,
        live_until=until,
        action=event.action,
        actor=event.actor,
        previous_version=event.previous_version,
        release=event.release,
    )
