"""RFC 3339 text of a moment, and the fast path's stored form of it: as isoformat writes them."""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from claimdesk.rawdb import Sql
from claimdesk.timefmt import parse_rfc3339, rfc3339

zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), zoneinfo.ZoneInfo("Europe/Berlin")])
# hypothesis takes naive bounds; a day inside the calendar's ends, so that any zone converts to UTC.
FIRST, LAST = dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)  # noqa: DTZ001
moments = st.datetimes(FIRST, LAST, timezones=zones) | st.datetimes(FIRST, LAST)  # naive: local time


@given(moments)
def test_rfc3339_is_isoformat_in_utc_with_z(value: dt.datetime) -> None:
    expected = value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert rfc3339(value) == expected
    assert rfc3339(value) == expected  # again, from its memory of the last moment
    assert rfc3339(value.replace(microsecond=0)) == expected[:20] + "000000Z"


@given(moments)
def test_sqlite_stores_the_text_sqlalchemy_writes(value: dt.datetime) -> None:
    sql = Sql(sqlite3.connect(":memory:"), "sqlite")
    assert sql.time(value) == value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@given(moments.filter(lambda value: value.tzinfo is not None))
def test_parse_rfc3339_reads_what_rfc3339_writes(value: dt.datetime) -> None:
    assert parse_rfc3339(rfc3339(value)) == value
    assert parse_rfc3339(value.isoformat()) == value


def test_parse_rfc3339_refuses_moments_outside_utc() -> None:
    assert parse_rfc3339("0001-01-01T00:00:00Z") == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    assert parse_rfc3339("0001-01-01T00:59:00+01:00") is None  # before the first moment in UTC
    assert parse_rfc3339("9999-12-31T23:30:00-01:00") is None  # after the last
    assert parse_rfc3339("2030-01-02T03:04:05") is None  # no zone
