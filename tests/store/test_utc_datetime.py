"""UTCDateTime's fast decoders (SQLite's text, PostgreSQL's aware times) give what parsing and then
`process_result_value` gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.dialects import postgresql, sqlite

from orderguard.store.db import make_engine
from orderguard.store.types import UTCDateTime, _from_aware, _from_sqlite

STORED = [
    "2026-11-27 10:57:05.123456",
    "2026-11-27 10:57:05",
    "2026-11-27T10:57:05.5",
    "2026-11-27 10:57:05+02:00",
    "2026-11-27 10:57:05.000001-05:30",
    "2026-11-27T10:57:05Z",
    "2026-11-27",
    "2026-11-27 10:57",
    "2026-11-27 10:57:05+0200",
    "2026-11-27T10:57:05.250-0130",
]


def test_sqlite_reads_use_the_one_step_decoder() -> None:
    dialect = sqlite.dialect()
    assert UTCDateTime().dialect_impl(dialect).result_processor(dialect, None) is _from_sqlite


@pytest.mark.parametrize("text", STORED)
def test_the_one_step_decoder_gives_the_same_aware_utc_time(text: str) -> None:
    expected = UTCDateTime().process_result_value(datetime.fromisoformat(text), sqlite.dialect())
    got = _from_sqlite(text)
    assert got is not None and expected is not None
    assert got == expected and got.utcoffset() == expected.utcoffset() == UTC.utcoffset(None)
    assert got.replace(tzinfo=None) == expected.replace(tzinfo=None)


def test_null_stays_null() -> None:
    assert _from_sqlite(None) is None
    assert UTCDateTime().process_result_value(None, sqlite.dialect()) is None
    assert datetime(2026, 1, 1, tzinfo=UTC) == _from_sqlite("2026-01-01 00:00:00")


AWARE = [
    datetime(2026, 11, 27, 10, 57, 5, 123456, tzinfo=UTC),
    datetime(2026, 11, 27, 10, 57, 5, tzinfo=timezone(timedelta(hours=9))),
    datetime(2026, 11, 27, 10, 57, 5, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 11, 27, 10, 57, 5),
    None,
]


@pytest.mark.parametrize("value", AWARE)
def test_the_aware_decoder_gives_what_process_result_value_gives(value: datetime | None) -> None:
    expected = UTCDateTime().process_result_value(value, postgresql.dialect())
    got = _from_aware(value)
    assert got == expected
    if got is not None and expected is not None:
        assert got.tzinfo is UTC and got.replace(tzinfo=None) == expected.replace(tzinfo=None)


def test_postgresql_sessions_are_in_utc_and_read_utc_times_as_they_come(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert (
            UTCDateTime().dialect_impl(engine.dialect).result_processor(engine.dialect, None) is _from_aware
        )
        written = datetime(2026, 11, 27, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        with engine.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar() == "UTC"
            got = conn.execute(select(literal(written, UTCDateTime))).scalar()
            conn.execute(text("SET timezone = 'Asia/Tokyo'"))  # a session the server set otherwise
            got_elsewhere = conn.execute(select(literal(written, UTCDateTime))).scalar()
        for at in (got, got_elsewhere):
            assert at == written and at.tzinfo is UTC
    finally:
        engine.dispose()
