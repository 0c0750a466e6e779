"""Reading ``as_of``: dates are the end of the day in UTC, zone-less date-times are UTC, bad ones are 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from indexes.catalog import Catalog
from rag.as_of import InvalidAsOf, parse_as_of
from rag.errors import InvalidInput
from rag.what_changed import resolve_point

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_the_forms_of_as_of() -> None:
    assert parse_as_of("2026-03-01", NOW) == datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_as_of("2026-03-01T09:30", NOW) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_as_of("2026-03-01T09:30:00+01:00", NOW) == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert parse_as_of(" 2026-03-01T09:30:00Z ", NOW) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_as_of("2026-12-02", NOW).date() == NOW.date()  # today (its end lies ahead) is allowed


@pytest.mark.parametrize(
    "bad",
    ["", "yesterday", "2026-13-01", "2026-02-30", "01/03/2026", "0001-01-01T00:00+01:00", "9999-12-31T23:59-23:59"],
)
def test_bad_as_of_is_invalid_as_of(bad: str) -> None:
    with pytest.raises(InvalidAsOf) as caught:
        parse_as_of(bad, NOW)
    assert (caught.value.status, caught.value.code) == (422, "invalid_as_of")


def test_the_future_is_refused() -> None:
    with pytest.raises(InvalidAsOf, match="future"):
        parse_as_of((NOW + timedelta(hours=1)).isoformat(), NOW)
    with pytest.raises(InvalidAsOf, match="future"):
        parse_as_of("2026-12-03", NOW)


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    built = Catalog.from_url("sqlite://")
    yield built
    built.close()


def test_version_points_by_number_or_date(catalog: Catalog) -> None:
    assert resolve_point(catalog, "policies", "3") == 3
    for bad in ("0", "99999999999", "²"):
        with pytest.raises(InvalidInput):
            resolve_point(catalog, "policies", bad)
    catalog.record_alias_event("policies", "policies", 2, None, "promote")
    assert resolve_point(catalog, "policies", datetime.now(UTC).isoformat()) == 2
