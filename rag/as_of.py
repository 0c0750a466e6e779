"""The ``as_of`` of a question: an ISO 8601 date or date-time, read as one moment in UTC.

- A date-time with an offset (``2026-03-01T09:30:00+01:00``, ``...Z``) is that moment.
- A date-time without one (``2026-03-01T09:30``) is UTC.
- A bare date (``2026-03-01``) is the end of that day in UTC (``23:59:59.999999``): "what did the
  policy say on that day" gets the version live when the day ended.

Parsing is the standard library's ``datetime.fromisoformat`` (ISO 8601 since Python 3.11).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from rag.errors import InvalidInput

__all__ = ["InvalidAsOf", "parse_as_of"]


class InvalidAsOf(InvalidInput):
    """``as_of`` is not an ISO date or date-time, or lies in the future."""

    code = "invalid_as_of"


def parse_as_of(text: str, now: datetime | None = None) -> datetime:
    """The aware UTC moment ``text`` names (rules above); InvalidAsOf (422) when it is not ISO 8601
    or is later than ``now`` (default: the current time)."""
    raw = text.strip()
    moment: datetime
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time.max, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(raw)
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset pushing the moment out of years 1-9999
        raise InvalidAsOf(
            f"as_of {text[:64]!r} is not an ISO date or date-time (e.g. 2026-03-01 or 2026-03-01T09:30:00+01:00)"
        ) from None
    current = now or datetime.now(UTC)
    if moment.date() > current.date() or (len(raw) != 10 and moment > current):
        raise InvalidAsOf(f"as_of {raw!r} is in the future; ask without as_of for the live version")
    return moment
