"""store/driver.py: a Statement stores and reads back exactly what Connection.execute does."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from orderguard.app.context import Context
from orderguard.store import driver
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.driver import Statement, UnsupportedStatement, in_list
from orderguard.store.pg_session import WriteInReadingUnit, session
from tests.support import exchanges, sent_sql, server_plans

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)

_insert_event = Statement(insert(t.events))
_events_of = Statement.per_dialect(
    lambda array: (
        select(t.events.c.order_id, t.events.c.kind, t.events.c.data, t.events.c.occurred_at)
        .where(in_list(t.events.c.order_id, "b_ids", array=array), t.events.c.subject_type == "order")
        .order_by(t.events.c.order_id)
    )
)
_rename = Statement(
    update(t.events)
    .where(t.events.c.order_id == bindparam("b_order"), t.events.c.subject_type == "order")
    .values(kind=bindparam("b_kind"), rule="R0.0")
)


def _event(order_id: str, at: datetime) -> dict[str, object]:
    return {
        "order_id": order_id,
        "subject_type": "order",
        "subject_id": order_id,
        "kind": "placed",
        "actor": "buyer",
        "actor_id": "acc_1",
        "rule": "R3.2",
        "data": {"amount": 1999, "lines": ["a", "b"], "note": "né"},
        "occurred_at": at,
    }


def test_rows_round_trip_like_sqlalchemy(ctx: Context) -> None:
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run_many(conn, [_event(f"ord_{i}", AT + timedelta(hours=i)) for i in range(3)])
        _insert_event.run(conn, _event("ord_other", AT))
        for ids in (["ord_0"], ["ord_0", "ord_2"], ["ord_0", "ord_1", "ord_2", "ord_missing"]):
            ours = _events_of.rows(conn, {"b_ids": ids})
            form = _events_of.postgresql if conn.dialect.name == "postgresql" else _events_of.statement
            theirs = [tuple(r) for r in conn.execute(form, {"b_ids": ids})]
            assert [tuple(r) for r in ours] == theirs
        rows = _events_of.rows(conn, {"b_ids": ["ord_1"]})
    assert rows == [
        ("ord_1", "placed", {"amount": 1999, "lines": ["a", "b"], "note": "né"}, AT + timedelta(hours=1))
    ]
    assert rows[0][3].tzinfo is not None and rows[0][3].utcoffset() == timedelta(0)


def test_run_counts_changed_rows_and_writes_fixed_values(ctx: Context) -> None:
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run_many(conn, [_event("ord_a", AT), _event("ord_a", AT), _event("ord_b", AT)])
        assert _rename.run(conn, {"b_order": "ord_a", "b_kind": "renamed"}) == 2
        assert _rename.run(conn, {"b_order": "ord_none", "b_kind": "renamed"}) == 0
        changed = conn.execute(
            select(t.events.c.order_id, t.events.c.kind, t.events.c.rule).order_by(t.events.c.id)
        ).all()
    assert [tuple(r) for r in changed] == [
        ("ord_a", "renamed", "R0.0"),
        ("ord_a", "renamed", "R0.0"),
        ("ord_b", "placed", "R3.2"),
    ]


def test_a_missing_parameter_is_an_error_not_a_null(ctx: Context) -> None:
    with unit_of_work(ctx.engine) as conn, pytest.raises((KeyError, StatementError)):
        _rename.run(conn, {"b_order": "ord_a"})


def test_an_empty_list_matches_nothing(ctx: Context) -> None:
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run(conn, _event("ord_a", AT))
        assert _events_of.rows(conn, {"b_ids": []}) == []
        assert _events_of.rows(conn, {"b_ids": ["ord_a"]}) != []


def test_a_list_of_one_is_sent_as_an_equality_and_finds_the_same_rows(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a one-item list goes as `column = %s`, which the server need not plan at every
    execution; two items and none keep `= ANY`. The rows are the same either way."""
    with unit_of_work(ctx.engine) as conn:
        for order_id in ("ord_a", "ord_b", "ord_c"):
            _insert_event.run(conn, _event(order_id, AT))
    sent = sent_sql(monkeypatch)
    with unit_of_work(ctx.engine) as conn:
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_b"]})] == ["ord_b"]
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_a", "ord_c"]})] == ["ord_a", "ord_c"]
        assert _events_of.rows(conn, {"b_ids": []}) == []
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_x"]})] == []
    if ctx.engine.dialect.name == "postgresql":
        one, two, none, missing = [sql for sql in sent if "FROM events" in sql]
        assert "ANY" not in one and "events.order_id = %(b_ids)s::" in one and one == missing
        assert "= ANY (%(b_ids)b" in two and two == none


def test_a_value_fixed_in_a_statement_is_sent_as_a_literal_only_when_it_is_a_plain_word(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`state == 'armed'` is written into the SQL on PostgreSQL, so that a prepared statement's generic
    plan can use the partial indexes on armed deadlines; a value that is not a plain word stays a
    parameter. Both find exactly the rows they name."""
    plain = Statement(select(t.events.c.order_id).where(t.events.c.kind == "placed"))
    quoted = Statement(select(t.events.c.order_id).where(t.events.c.kind == "it's; DROP TABLE events"))
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run(conn, _event("ord_a", AT))
        _insert_event.run(conn, {**_event("ord_b", AT), "kind": "it's; DROP TABLE events"})
    sent = sent_sql(monkeypatch)
    with unit_of_work(ctx.engine) as conn:
        assert plain.rows(conn, {}) == [("ord_a",)]
        assert quoted.rows(conn, {}) == [("ord_b",)]
    if ctx.engine.dialect.name == "postgresql":
        plain_sql, quoted_sql = [sql for sql in sent if "FROM events" in sql]
        assert "events.kind = 'placed'::VARCHAR" in plain_sql
        assert "DROP" not in quoted_sql and "%(kind_1)s" in quoted_sql


_TABLE = Table(
    "driver_features",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(10)),
    Column("kind", String(10), default="plain"),
    Column("touched", String(10), onupdate=lambda: "yes"),
)


@pytest.mark.parametrize(
    ("statement", "complaint"),
    [
        (insert(_TABLE), "Python-side defaults"),
        (update(_TABLE).values(name=bindparam("b_name")), "Python-side onupdate"),
        (select(t.events.c.id).where(t.events.c.kind == bindparam("b", callable_=lambda: "x")), "callable_"),
        (select(t.events.c.id).where(t.events.c.kind.in_(["a", "b"])), "IN list"),
    ],
    ids=["python-default", "python-onupdate", "callable-bindparam", "literal-in-list"],
)
def test_features_the_fast_path_cannot_honour_are_refused_when_the_statement_is_built(
    statement: Any, complaint: str
) -> None:
    """Refused at import time rather than silently writing NULL, binding None or failing with KeyError."""
    with pytest.raises(UnsupportedStatement, match=complaint):
        Statement(statement)


def test_every_statement_of_the_store_is_one_the_fast_path_supports() -> None:
    """Importing the repositories builds their statements; none is refused."""
    import orderguard.store.carts_repo
    import orderguard.store.deadlines_repo
    import orderguard.store.offers_repo
    import orderguard.store.orders_repo
    import orderguard.store.payments_repo  # noqa: F401


def test_the_fast_path_can_be_switched_off(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ORDERGUARD_SQLITE_DIRECT=0 every statement goes through Connection.execute."""
    monkeypatch.setattr(driver, "DIRECT", False)
    monkeypatch.setattr(driver, "_driver", lambda conn: pytest.fail("the driver connection was used"))
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run_many(conn, [_event("ord_a", AT), _event("ord_b", AT)])
        assert _rename.run(conn, {"b_order": "ord_a", "b_kind": "renamed"}) == 1
        rows = _events_of.rows(conn, {"b_ids": ["ord_a", "ord_b"]})
    assert [(r[0], r[1]) for r in rows] == [("ord_a", "renamed"), ("ord_b", "placed")]


def test_insert_many_writes_the_rows_in_the_order_given(ctx: Context) -> None:
    """On PostgreSQL one multi-row INSERT (queued with the unit's writes); ids follow the rows' order."""
    with unit_of_work(ctx.engine) as conn:
        _insert_event.insert_many(conn, [_event(f"ord_{i}", AT + timedelta(hours=i)) for i in (2, 0, 1)])
        _insert_event.insert_many(conn, [_event("ord_alone", AT)])
    with unit_of_work(ctx.engine) as conn:
        rows = conn.execute(select(t.events.c.order_id, t.events.c.data).order_by(t.events.c.id)).all()
    assert [r[0] for r in rows] == ["ord_2", "ord_0", "ord_1", "ord_alone"]
    assert rows[0][1] == {"amount": 1999, "lines": ["a", "b"], "note": "né"}


def test_a_write_sent_later_that_fails_fails_its_whole_unit(ctx: Context) -> None:
    """On PostgreSQL `send` queues the write until the commit; its error still reaches the caller as
    SQLAlchemy's (a broken foreign key here), and nothing of the unit is kept. (SQLite's fast path
    raises sqlite3's own error, as it did before.)"""
    orphan = Statement(insert(t.carts))
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)), unit_of_work(ctx.engine) as conn:
        _insert_event.send(conn, _event("ord_kept?", AT))
        orphan.send(conn, {"buyer_id": "acc_nobody", "last_added_at": AT})
    with unit_of_work(ctx.engine) as conn:
        assert conn.execute(select(t.events.c.id)).all() == []
        _insert_event.send(conn, _event("ord_next", AT))  # the connection is fine afterwards
    with unit_of_work(ctx.engine) as conn:
        assert [r[0] for r in conn.execute(select(t.events.c.order_id))] == ["ord_next"]


def test_a_counted_write_gives_its_row_count_once_sent(ctx: Context) -> None:
    """`send_counted`: on SQLite the count is known at once; on PostgreSQL the write waits for the
    unit's next answered statement or its COMMIT, and its count is known from then on."""
    pg = ctx.engine.dialect.name == "postgresql"
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run_many(conn, [_event("ord_a", AT), _event("ord_a", AT), _event("ord_b", AT)])
        first = _rename.send_counted(conn, {"b_order": "ord_a", "b_kind": "first"})
        if pg:
            with pytest.raises(RuntimeError, match="not been sent yet"):
                first.rowcount  # noqa: B018
        assert [r[1] for r in _events_of.rows(conn, {"b_ids": ["ord_a"]})] == ["first", "first"]
        assert first.rowcount == 2  # sent with the read
        last = _rename.send_counted(conn, {"b_order": "ord_b", "b_kind": "last"})
        missed = _rename.send_counted(conn, {"b_order": "ord_none", "b_kind": "last"})
    assert (last.rowcount, missed.rowcount) == (1, 0)  # sent with the COMMIT
    with unit_of_work(ctx.engine) as conn:
        assert [r[1] for r in _events_of.rows(conn, {"b_ids": ["ord_b"]})] == ["last"]


def _in_transaction(conn: Connection) -> bool:
    status = conn.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
    return bool(status != TransactionStatus.IDLE)


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_reading_unit_on_postgresql_opens_no_transaction(ctx: Context) -> None:
    """Its reads run in autocommit (READ COMMITTED would give each its own snapshot anyway): no
    BEGIN is sent, no transaction is left open between them, and no COMMIT is owed at the end. A
    writing unit on the same connection still opens one."""
    with unit_of_work(ctx.engine) as conn:
        _insert_event.send(conn, _event("ord_a", AT))
    with reading(ctx.engine) as conn:
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_a"]})] == ["ord_a"]
        assert not _in_transaction(conn)
    with unit_of_work(ctx.engine) as conn:
        _events_of.rows(conn, {"b_ids": ["ord_a"]})
        assert _in_transaction(conn)


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_in_a_reading_unit_on_postgresql_is_refused_and_not_made(ctx: Context) -> None:
    """Without a transaction it would commit on its own, so it is refused before it is queued."""
    with pytest.raises(WriteInReadingUnit), reading(ctx.engine) as conn:
        _insert_event.send(conn, _event("ord_a", AT))
    with unit_of_work(ctx.engine) as conn:  # the connection is usable, and nothing was written
        assert _events_of.rows(conn, {"b_ids": ["ord_a"]}) == []
        _insert_event.send(conn, _event("ord_b", AT))
    with reading(ctx.engine) as conn:
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_b"]})] == ["ord_b"]


def test_a_read_asked_for_later_travels_with_the_next_statements(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`read_later`: on PostgreSQL the read rides with the unit's next exchange (one round trip for
    both) and its value is the one `read` gives; on SQLite it runs at once."""
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run_many(conn, [_event("ord_a", AT), _event("ord_b", AT)])
    query = ([(_events_of, {"b_ids": ["ord_a"]})], lambda rows: [r[:2] for r in rows])
    with reading(ctx.engine) as conn:
        carried = exchanges(monkeypatch)
        later = driver.read_later(conn, query)
        assert carried == []
        assert [r[0] for r in _events_of.rows(conn, {"b_ids": ["ord_b"]})] == ["ord_b"]
        assert later() == [("ord_a", "placed")] == driver.read(conn, query)
        assert carried == ([2, 1] if conn.dialect.name == "postgresql" else [])


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_read_asked_for_later_is_answered_whatever_happens_to_its_unit(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked for before anything else went, it goes alone; still waiting when its unit ends, it goes
    with the end (nothing is left on the pooled connection); its exchange failed, it is asked again."""
    with unit_of_work(ctx.engine) as conn:
        _insert_event.send(conn, _event("ord_a", AT))
    query = ([(_events_of, {"b_ids": ["ord_a"]})], lambda rows: [r[0] for r in rows])
    with reading(ctx.engine) as conn:
        carried = exchanges(monkeypatch)
        pending = session(conn)
        assert driver.read_later(conn, query)() == ["ord_a"]
        assert carried == [1]
        ended = driver.read_later(conn, query)
    assert carried == [1, 1] and ended() == ["ord_a"]
    assert pending is not None and not pending.riders

    broken = Statement(select(t.events.c.id).where(t.events.c.id == bindparam("b_id")))
    with reading(ctx.engine) as conn:
        failed = driver.read_later(conn, query)
        with pytest.raises(StatementError):
            broken.rows(conn, {"b_id": "not a number"})
        assert failed() == ["ord_a"]


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_server_plans_a_one_id_statement_once(ctx: Context) -> None:
    """Why a one-item list is sent as `=` (see driver._PgPlan): executed again and again, its
    prepared form (from its second use) runs on the server's generic plan after five executions,
    which is planned once."""
    with unit_of_work(ctx.engine) as conn:
        _insert_event.run(conn, _event("ord_a", AT))
        for _ in range(10):
            assert len(_events_of.rows(conn, {"b_ids": ["ord_a"]})) == 1
        generic, custom = server_plans(conn, "events.order_id = $1")
        assert generic >= 1 and custom <= 5
