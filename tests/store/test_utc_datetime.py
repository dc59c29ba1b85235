"""UTCDateTime's one-step SQLite decoder gives what parsing and then `process_result_value` gave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import sqlite

from orderguard.store.types import UTCDateTime, _from_sqlite

STORED = [
    "2026-11-27 10:57:05.123456",
    "2026-11-27 10:57:05",
    "2026-11-27T10:57:05.5",
    "2026-11-27 10:57:05+02:00",
    "2026-11-27 10:57:05.000001-05:30",
    "2026-11-27T10:57:05Z",
    "2026-11-27",
    "2026-11-27 10:57",
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
