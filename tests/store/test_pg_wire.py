"""store/pg_wire.py: statements sent together on libpq's pipeline answer as psycopg's cursors do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import _queries as psycopg_queries
from psycopg import errors
from psycopg.pq import TransactionStatus

from orderguard.store import pg_wire
from orderguard.store.pg_wire import Wire

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
ROWS = "SELECT %(a)s::int, %(b)s::text, %(c)s::timestamptz, %(d)s::jsonb, %(e)s::numeric, %(f)b::text[]"


@pytest.fixture
def driver(pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_dsn, autocommit=True, options="-c timezone=UTC") as conn:
        conn.execute("CREATE TEMPORARY TABLE wired (id int PRIMARY KEY, note text)")
        yield conn


def _prepared(driver: psycopg.Connection[Any]) -> set[str]:
    rows = driver.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'og_%%'").fetchall()
    return {r[0] for r in rows}


def test_rows_and_counts_are_the_cursors(driver: psycopg.Connection[Any]) -> None:
    params = {"a": 7, "b": "x'y", "c": AT, "d": '{"k": [1, 2]}', "e": Decimal("18.50"), "f": ["p", "q"]}
    wire = Wire(driver)
    for _ in range(3):  # unprepared, then prepared twice: the same values each time
        answers = wire.exchange(
            [
                (ROWS, params, False),
                ("INSERT INTO wired VALUES (%(i)s, %(n)s)", [{"i": 1, "n": "a"}, {"i": 2, "n": None}], True),
                ("UPDATE wired SET note = 'b' WHERE id >= %(i)s", {"i": 1}, False),
                ("SELECT id, note FROM wired ORDER BY id", {}, False),
                ("DELETE FROM wired", None, False),
            ]
        )
        assert [a.rows for a in answers[1:]] == [[], [], [(1, "b"), (2, "b")], []]
        assert [a.rowcount for a in answers[1:]] == [2, 2, 2, 2]
        assert answers[0].rows == driver.cursor().execute(ROWS, params).fetchall()
    assert driver.info.transaction_status == TransactionStatus.IDLE


def test_a_statement_is_prepared_on_its_second_use(driver: psycopg.Connection[Any]) -> None:
    wire = Wire(driver)
    wire.exchange([("SELECT %(a)s::int", {"a": 1}, False), ("BEGIN", None, False), ("COMMIT", None, False)])
    assert _prepared(driver) == set()
    wire.exchange([("SELECT %(a)s::int", {"a": 2}, False), ("BEGIN", None, False), ("COMMIT", None, False)])
    assert _prepared(driver) == {"og_0"}  # BEGIN and COMMIT, without parameters, are never prepared
    assert wire.exchange([("SELECT %(a)s::int", {"a": 3}, False)])[0].rows == [(3,)]


def test_the_least_recently_used_are_deallocated(
    driver: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_wire, "PREPARED_MAX", 2)
    wire = Wire(driver)
    for n in range(4):
        for _ in range(2):
            wire.exchange([(f"SELECT %(a)s::int + {n}", {"a": 1}, False)])
    assert _prepared(driver) == {"og_2", "og_3"}
    assert wire.exchange([("SELECT %(a)s::int + 0", {"a": 1}, False)])[0].rows == [(1,)]


def test_an_error_is_psycopgs_and_stops_the_rest(driver: psycopg.Connection[Any]) -> None:
    wire = Wire(driver)
    with pytest.raises(errors.UniqueViolation):
        wire.exchange(
            [
                ("BEGIN", None, False),
                ("INSERT INTO wired VALUES (%(i)s, 'a')", {"i": 1}, False),
                ("INSERT INTO wired VALUES (%(i)s, 'a')", {"i": 1}, False),
                ("INSERT INTO wired VALUES (%(i)s, 'a')", {"i": 2}, False),
            ]
        )
    assert driver.info.transaction_status == TransactionStatus.INERROR  # drained: ready for ROLLBACK
    driver.rollback()
    assert wire.exchange([("SELECT count(*) FROM wired", {}, False)])[0].rows == [(0,)]


def test_a_prepare_that_failed_is_not_taken_for_done(driver: psycopg.Connection[Any]) -> None:
    wire = Wire(driver)
    bad = ("SELECT %(a)s::int FROM nowhere", {"a": 1}, False)
    for _ in range(3):  # the second use prepares, and the server refuses the prepare
        with pytest.raises(errors.UndefinedTable):
            wire.exchange([bad])
    assert _prepared(driver) == set()
    assert wire.exchange([("SELECT %(a)s::int", {"a": 5}, False)])[0].rows == [(5,)]


def test_a_prepare_after_a_failure_in_the_same_pipeline_is_not_taken_for_done(
    driver: psycopg.Connection[Any],
) -> None:
    wire = Wire(driver)
    good = ("SELECT %(a)s::int", {"a": 1}, False)
    wire.exchange([good])
    with pytest.raises(errors.DivisionByZero):  # the prepare of `good` is skipped with the rest
        wire.exchange([("SELECT 1 / %(z)s::int", {"z": 0}, False), good])
    assert _prepared(driver) == set()
    assert wire.exchange([good, good])[1].rows == [(1,)]


def test_prepared_statements_outlive_a_rollback(driver: psycopg.Connection[Any]) -> None:
    wire = Wire(driver)
    for _ in range(6):  # psycopg would have prepared its own by now, and deallocated all at rollback
        driver.execute("SELECT %s::int", (1,))
    statement = ("SELECT %(a)s::int", {"a": 1}, False)
    wire.exchange([("BEGIN", None, False), statement, statement])
    assert _prepared(driver) == {"og_0"}
    driver.rollback()
    assert wire.exchange([statement])[0].rows == [(1,)]
    assert _prepared(driver) == {"og_0"}


def test_a_long_statement_is_split_once_and_answers_every_time(
    driver: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"v{i}" for i in range(60)]  # over psycopg's 50 parameters: its own cache leaves it out
    sql = "SELECT " + ", ".join(f"%({n})s::int" for n in names) + " -- " + "x" * 4100 + "\n"
    splits: list[bytes] = []
    split = psycopg_queries._query2pg_nocache

    def counted(query: bytes, encoding: str) -> Any:
        splits.append(query)
        return split(query, encoding)

    monkeypatch.setattr(psycopg_queries, "_query2pg_nocache", counted)  # what psycopg's convert calls
    monkeypatch.setattr(pg_wire, "_query2pg_nocache", counted)
    pg_wire.converted.cache_clear()
    wire = Wire(driver)
    for round_ in range(3):  # unprepared, prepared, prepared
        params = {n: i * 10 + round_ for i, n in enumerate(names)}
        assert wire.exchange([(sql, params, False)])[0].rows == [tuple(params[n] for n in names)]
    assert len(splits) == 1


def test_a_missing_parameter_is_psycopgs_error_and_sends_nothing(driver: psycopg.Connection[Any]) -> None:
    wire = Wire(driver)
    with pytest.raises(errors.ProgrammingError, match="query parameter missing: b"):
        wire.exchange([("INSERT INTO wired VALUES (%(a)s, %(b)s)", {"a": 1}, False)])
    assert driver.execute("SELECT count(*) FROM wired").fetchone() == (0,)
    assert driver.info.transaction_status == TransactionStatus.IDLE


ARRAYS = "SELECT %(s)b::varchar(40)[], %(i)b::integer[], %(n)b::bigint[]"


@pytest.mark.parametrize(
    "strings",
    [
        ["ord_1", "ord_2"],
        ["", " spaced ", "a,b", "{braced}", "NULL", "null", "é ü 😀", "tab\there"],
        ['a "quote"', "x"],
        ["back\\slash"],
        ["kept", None],
        [],
    ],
)
def test_arrays_arrive_as_psycopg_sends_them(driver: psycopg.Connection[Any], strings: list[Any]) -> None:
    """Arrays of every kind of text (quotes, backslashes, NULLs, none at all) and of integers of
    every size read back as psycopg's cursors send them."""
    params = {"s": strings, "i": [1, -2, 2_000_000_000], "n": [3, 2**62]}
    wire = Wire(driver)
    for _ in range(3):  # unprepared, then prepared
        (answer,) = wire.exchange([(ARRAYS, params, False)])
        assert answer.rows == driver.cursor().execute(ARRAYS, params).fetchall()
        assert answer.rows == [(strings, params["i"], params["n"])]
