"""Hot statements run straight on SQLite's driver, written and decoded as SQLAlchemy would.

On SQLite the database is in the process and a statement costs sqlite3 1-10 µs, while
SQLAlchemy's execution around it (compiled-cache lookup, parameter processing, result set-up,
events) costs 15-25 µs more. The commands on the buyer's hot path (add to cart, checkout, pay)
run 5-11 statements each, so that overhead was most of their time.

A `Statement` is still written with SQLAlchemy Core. It is compiled once per dialect and shape
(the columns an INSERT is given, the length of each expanding `IN` list); its parameters are
bound by the columns' own types and its result columns decoded by them, so what is stored and
what is read back are exactly what `Connection.execute` stores and returns. It runs on the
DBAPI connection inside the SQLAlchemy transaction, so units of work are unchanged.

On PostgreSQL a `Statement` is compiled the same way (once per shape, psycopg's `%(name)s`
parameters, bound and decoded by the columns' types) and run on the psycopg connection through
the connection's `store.pg_session.PgSession`, so that what the caller does not wait for travels
with what it does: `send` and `run_many` queue a write, `rows` and `run` send the queue with
their own statement in one pipeline, `rows_together` sends several reads in one. A statement
with an expanding `IN` list still goes through `Connection.execute` there; `Statement.per_dialect`
builds a statement whose lists are bound as one array on PostgreSQL (see `in_list`). What is sent is
written so that the server can plan a prepared statement once: a list of one item as `= $1`
(`_PgPlan.sent`), and the values fixed in the statement as literals (`_fixed_inline`).

What the fast path does not do, it refuses when the statement is built, at import time
(`UnsupportedStatement`): Python-side column defaults and `onupdate`s (only SQLAlchemy's
execution evaluates them), `bindparam(callable_=...)`, and `IN` lists fixed in the statement
(`.in_([...])`; bind the list as an expanding parameter instead). It is tested on the SQLAlchemy
minor version that `pyproject.toml` pins. `ORDERGUARD_SQLITE_DIRECT=0` switches it off, so
every statement goes through `Connection.execute`; CI runs the SQLite suite once that way too.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Column, Connection, Table, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import BindParameter, ClauseElement, ColumnElement, any_

from orderguard.store.pg_session import Counted, PgSession, raise_as_sqlalchemy, session
from orderguard.store.pg_wire import Answer

T = TypeVar("T")
Processor = Callable[[Any], Any] | None
# A result column's decoder: (column, decoder, whether the decoder leaves NULL as None)
Decoder = tuple[int, Callable[[Any], Any], bool]

# Read as settings.Settings.sqlite_direct reads it (pydantic's booleans), which refuses any other value.
_FALSE = {"0", "off", "f", "false", "n", "no"}
DIRECT = os.environ.get("ORDERGUARD_SQLITE_DIRECT", "1").strip().lower() not in _FALSE


class UnsupportedStatement(ValueError):
    """A statement uses a feature the SQLite fast path would silently get wrong."""


def _python_side(column: Column[Any], attribute: str) -> bool:
    generator = getattr(column, attribute)
    return (
        generator is not None
        and not getattr(generator, "is_sequence", False)
        and not (getattr(generator, "is_clause_element", False))
    )


def _refuse_unsupported(statement: Executable) -> None:
    """Raise `UnsupportedStatement` for what `_build` and `_bound` cannot do as SQLAlchemy would."""
    table = getattr(statement, "table", None)
    if isinstance(table, Table):
        if getattr(statement, "is_insert", False):
            needs = [c.name for c in table.columns if _python_side(c, "default")]
            if needs:
                raise UnsupportedStatement(
                    f"INSERT into {table.name}: Python-side defaults of {needs} are evaluated only by "
                    "SQLAlchemy's execution; use a server default or Connection.execute"
                )
        if getattr(statement, "is_update", False):
            needs = [c.name for c in table.columns if _python_side(c, "onupdate")]
            if needs:
                raise UnsupportedStatement(
                    f"UPDATE of {table.name}: Python-side onupdate of {needs} is evaluated only by "
                    "SQLAlchemy's execution; set the value in the statement or use Connection.execute"
                )
    for b in visitors.iterate(cast(ClauseElement, statement)):
        if not isinstance(b, BindParameter):
            continue
        if b.callable is not None:
            raise UnsupportedStatement(f"bindparam {b.key!r} has a callable_; bind its value instead")
        if b.expanding and not b.required:
            raise UnsupportedStatement(
                f"IN list {b.key!r} is fixed in the statement; bind it with bindparam(name, expanding=True)"
            )


@dataclass(frozen=True, slots=True)
class _Plan:
    """One compiled shape of a statement on SQLite."""

    sql: str
    params: tuple[tuple[str, Processor, bool], ...]  # for each `?` in order: name, encoder, expanding
    fixed: Mapping[str, Any]  # values written into the statement itself (`state == 'armed'`)
    results: tuple[Decoder, ...]  # the columns that need decoding


@dataclass(frozen=True, slots=True)
class _PgPlan:
    """One compiled shape of a statement on PostgreSQL (psycopg's named parameters).

    `one_sql` is the statement with each `column = ANY(%(list)b::T[])` written `column =
    %(list)s::T`, sent when every such list holds one item (`sent`). Given one item, `= ANY` of an
    array parameter makes a custom plan look cheaper than the generic one (which assumes several),
    so the server planned pay's prepared statements again at every execution, 0.06-0.3 ms a bind;
    an `=` gets the generic plan after five. Most commands name one order, one payment, one cart.
    """

    sql: str
    params: tuple[tuple[str, str, Processor], ...]  # name given, name in the SQL, encoder
    fixed: Mapping[str, Any]
    results: tuple[Decoder, ...]
    one_sql: str | None = None
    arrays: tuple[str, ...] = ()  # names in the SQL of the lists that `one_sql` takes one item of

    def bound(self, given: Mapping[str, Any]) -> dict[str, Any]:
        values = {}
        for name, key, encode in self.params:
            value = given[name] if name in given else self.fixed[name]
            values[key] = encode(value) if encode else value
        return values

    def sent(self, given: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The SQL to send for `given`, and its bound parameters."""
        values = self.bound(given)
        if self.one_sql is not None and all(len(values[key]) == 1 for key in self.arrays):
            for key in self.arrays:
                values[key] = values[key][0]
            return self.one_sql, values
        return self.sql, values

    def decoded(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return _decoded(self.results, rows)


def in_list(column: ColumnElement[Any], name: str, *, array: bool) -> ColumnElement[bool]:
    """`column IN (...)` for the list bound as `name`; with `array`, `column = ANY(:name)`.

    An expanding IN renders one parameter per item: a batch of 500 ids makes a long statement
    that SQLAlchemy renders and psycopg parses again on every call. One array parameter keeps
    the statement short and cached. SQLite has no arrays.
    """
    if array:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


class Statement:
    """A Core statement that skips SQLAlchemy's execution machinery on SQLite.

    `postgresql`, when given, is the form run on PostgreSQL instead of `statement`.
    """

    __slots__ = ("_expanding", "_pg_plans", "_plans", "postgresql", "statement")

    def __init__(self, statement: Executable, *, postgresql: Executable | None = None) -> None:
        _refuse_unsupported(statement)
        self.statement = statement
        self.postgresql = statement if postgresql is None else postgresql
        self._expanding: tuple[str, ...] | None = None
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._pg_plans: dict[tuple[Any, ...], _PgPlan] = {}

    @classmethod
    def per_dialect(cls, build: Callable[[bool], Executable]) -> Statement:
        """`build(array)` makes the statement with its lists bound as arrays (PostgreSQL) or expanded."""
        return cls(build(False), postgresql=build(True))

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns, as tuples in the order of its columns."""
        if conn.dialect.name != "sqlite":
            return rows_together(conn, [(self, params)])[0]
        if not DIRECT:
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        plan = self._plan(conn.dialect, params)
        return _decoded(plan.results, _on_sqlite(conn, *_bound(plan, params)).fetchall())

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; returns how many rows it changed."""
        if conn.dialect.name != "sqlite":
            pg = self._pg_ready(conn, params)
            if pg is None:
                return int(conn.execute(self.postgresql, dict(params)).rowcount)
            pending, pg_plan = pg
            answer = _pg_execute(conn, pending, [pg_plan.sent(params)])[0]
            return answer.rowcount
        if not DIRECT:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        plan = self._plan(conn.dialect, params)
        return int(_on_sqlite(conn, *_bound(plan, params)).rowcount)

    def send(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run a write whose answer is not needed: on PostgreSQL it is queued, and goes to the server
        with the next statement that is answered, or with COMMIT (see store/pg_session.py)."""
        if conn.dialect.name != "sqlite":
            pg = self._pg_ready(conn, params)
            if pg is None:
                conn.execute(self.postgresql, dict(params))
            else:
                pending, pg_plan = pg
                pending.queue(*pg_plan.sent(params))
            return
        self.run(conn, params)

    def send_counted(self, conn: Connection, params: Mapping[str, Any]) -> Counted:
        """`send`, keeping how many rows the write changed: on SQLite known at once, on PostgreSQL
        once the write has gone to the server (with the unit's next answered statement or its
        COMMIT): the last write of a unit then travels with the COMMIT, one round trip fewer."""
        if conn.dialect.name != "sqlite":
            pg = self._pg_ready(conn, params)
            if pg is not None:
                pending, pg_plan = pg
                counted = Counted()
                pending.queue(*pg_plan.sent(params), counted=counted)
                return counted
        return Counted(self.run(conn, params))

    def run_many(self, conn: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set (all with the same keys and list lengths).

        On PostgreSQL the writes are queued, as by `send`."""
        if not many:
            return
        if conn.dialect.name != "sqlite":
            pg = self._pg_ready(conn, many[0])
            if pg is None:
                conn.execute(self.postgresql, [dict(p) for p in many])
            else:
                pending, pg_plan = pg
                pending.queue(pg_plan.sql, [pg_plan.bound(p) for p in many], many=True)
            return
        if not DIRECT:
            conn.execute(self.statement, [dict(p) for p in many])
            return
        plan = self._plan(conn.dialect, many[0])
        _on_sqlite(conn, plan.sql, [_bound(plan, p)[1] for p in many], many=True)

    def insert_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (dicts with the same keys) into the table of this plain `insert(table)`: on
        PostgreSQL as one multi-row INSERT (rows in the order given), queued as by `send`."""
        pending = session(conn) if conn.dialect.name == "postgresql" else None
        if pending is None or len(rows) < 2:
            self.run_many(conn, rows)
            return
        keys = tuple(rows[0])
        shape = ("rows", keys, len(rows))
        plan = self._pg_plans.get(shape)
        if plan is None:
            table = self.postgresql.table  # type: ignore[attr-defined]
            multi = insert(table).values(
                [{k: bindparam(f"{k}__{i}", type_=table.c[k].type) for k in keys} for i in range(len(rows))]
            )
            plan = self._pg_plans[shape] = _build_pg(multi, conn.dialect, ())
        pending.queue(plan.sql, plan.bound({f"{k}__{i}": row[k] for i, row in enumerate(rows) for k in keys}))

    def _pg_ready(self, conn: Connection, params: Mapping[str, Any]) -> tuple[PgSession, _PgPlan] | None:
        """The connection's session and this shape's plan; None when the statement must go through
        SQLAlchemy (an engine without a session, an expanding IN list)."""
        pending = session(conn)
        if pending is None:
            return None
        key = tuple(params) if getattr(self.postgresql, "is_insert", False) else ()
        plan = self._pg_plans.get(key)
        if plan is None:
            plan = _build_pg(self.postgresql, conn.dialect, key)
            self._pg_plans[key] = plan
        return None if plan is _UNSUPPORTED else (pending, plan)

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        if self._expanding is None:
            self._expanding = tuple(
                sorted(
                    {
                        b.key
                        for b in visitors.iterate(cast(ClauseElement, self.statement))
                        if isinstance(b, BindParameter) and b.expanding
                    }
                )
            )
        key = (
            tuple(params) if getattr(self.statement, "is_insert", False) else (),
            tuple(len(params[n]) for n in self._expanding),
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._build(
                dialect, key[0], dict(zip(self._expanding, key[1], strict=True))
            )
        return plan

    def _compile(self, dialect: Dialect, column_keys: Sequence[str]) -> SQLCompiler:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(column_keys))  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        return compiled

    def _build(self, dialect: Dialect, column_keys: Sequence[str], lengths: Mapping[str, int]) -> _Plan:
        compiled = self._compile(dialect, column_keys)
        sql = compiled.string
        assert compiled.positiontup is not None
        for name, length in lengths.items():  # SQLite reads `IN ()` as the empty set
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * length))
        fixed = {n: b.value for n, b in compiled.binds.items() if not b.required}
        if column_keys and set(compiled.positiontup) != set(column_keys):
            # e.g. a Python-side column default, which only SQLAlchemy's execution evaluates
            raise ValueError(f"{sql!r} needs values for {compiled.positiontup}, given {list(column_keys)}")
        params = tuple(
            (n, compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect), n in lengths)
            for n in compiled.positiontup
        )
        return _Plan(sql, params, fixed, _decoders(self.statement, dialect))


def _bound(plan: _Plan, given: Mapping[str, Any]) -> tuple[str, list[Any]]:
    values: list[Any] = []
    for name, encode, expanding in plan.params:
        value = given[name] if name in given else plan.fixed[name]
        if expanding:
            values += [encode(v) for v in value] if encode else value
        else:
            values.append(encode(value) if encode else value)
    return plan.sql, values


def _decoders(statement: Executable, dialect: Dialect) -> tuple[Decoder, ...]:
    """The decoder of each result column whose type has one. A NULL is handed to a decoder as
    SQLAlchemy hands it; most give None back, and `_decoded` skips their NULLs (a row of an order
    has more NULL times than set ones)."""
    out = []
    for i, column in enumerate(getattr(statement, "selected_columns", ())):
        decode = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if decode is not None:
            out.append((i, decode, decode(None) is None))
    return tuple(out)


def _decoded(results: tuple[Decoder, ...], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`rows` with the columns that need it decoded by their types, as SQLAlchemy would (in place)."""
    if results:
        for i, row in enumerate(rows):
            values = list(row)
            for at, decode, keeps_null in results:
                value = values[at]
                if value is not None or not keeps_null:
                    values[at] = decode(value)
            rows[i] = tuple(values)
    return rows


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def _on_sqlite(conn: Connection, sql: str, params: Any, *, many: bool = False) -> Any:
    """The sqlite3 cursor of `sql` run on the connection's driver; its errors raised as
    `Connection.execute` raises them (a unique key met is SQLAlchemy's IntegrityError)."""
    try:
        return _driver(conn).executemany(sql, params) if many else _driver(conn).execute(sql, params)
    except sqlite3.Error as e:
        raise_as_sqlalchemy(conn, e, sql)
        raise


_UNSUPPORTED = _PgPlan("", (), {}, ())


def _build_pg(statement: Executable, dialect: Dialect, column_keys: Sequence[str]) -> _PgPlan:
    assert isinstance(dialect, PGDialect)
    compiled = statement.compile(dialect=dialect, column_keys=list(column_keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    sql = compiled.string
    if "__[POSTCOMPILE_" in sql:  # an expanding IN list: SQLAlchemy renders it per call
        return _UNSUPPORTED
    escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
    fixed = {n: b.value for n, b in compiled.binds.items() if not b.required}
    if column_keys and not set(column_keys) <= set(compiled.binds):
        raise ValueError(f"{sql!r} has no parameters for {sorted(set(column_keys) - set(compiled.binds))}")
    params: tuple[tuple[str, str, Processor], ...] = tuple(
        (n, escaped.get(n, n), b.type.dialect_impl(dialect).bind_processor(dialect))
        for n, b in compiled.binds.items()
    )
    sql, params = _fixed_inline(sql, params, fixed)
    arrays = tuple(escaped.get(n, n) for n, b in compiled.binds.items() if isinstance(b.type, ARRAY))
    one_sql = _one_item_form(sql, arrays)
    for key in arrays:  # sent in binary: psycopg quotes each item of a text array with a regular
        sql = sql.replace(f"%({key})s", f"%({key})b")  # expression, 1.3 µs an item against 0.2
    return _PgPlan(
        sql, params, fixed, _decoders(statement, dialect), one_sql, arrays if one_sql is not None else ()
    )


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.:-]*")


def _fixed_inline(
    sql: str, params: tuple[tuple[str, str, Processor], ...], fixed: Mapping[str, Any]
) -> tuple[str, tuple[tuple[str, str, Processor], ...]]:
    """Values fixed in the statement (`state == 'armed'`) written into its SQL as literals, when
    they are plain words or integers that need no encoding. A prepared statement's generic plan
    can then use a partial index (`WHERE state = 'armed'`): with the value a parameter it cannot,
    and the server plans the statement again at every execution instead."""
    kept = []
    for name, key, encode in params:
        value = fixed.get(name) if name in fixed and encode is None else None
        if isinstance(value, str) and _PLAIN_WORD.fullmatch(value):
            literal = f"'{value}'"
        elif isinstance(value, int) and not isinstance(value, bool):
            literal = str(value)
        else:
            kept.append((name, key, encode))
            continue
        sql = sql.replace(f"%({key})s", literal)
    return sql, tuple(kept)


def _one_item_form(sql: str, arrays: Sequence[str]) -> str | None:
    """`sql` with each `= ANY (%(key)s::T[])` of the `arrays` written `= %(key)s::T`; None when
    there is no array, or one is used otherwise (`unnest(...)`), where one item is no special case."""
    if not arrays:
        return None
    for key in arrays:
        sql = re.sub(rf"= ANY \(%\({re.escape(key)}\)s::([A-Z0-9_(), ]+?)\[\]\)", rf"= %({key})s::\1", sql)
        if f"%({key})s" in sql.replace(f"= %({key})s::", ""):
            return None
    return sql


def _pg_execute(conn: Connection, pending: PgSession, queries: Sequence[tuple[str, Any]]) -> list[Answer]:
    try:
        return pending.execute(queries)
    except Exception as e:
        pending.discard()
        raise_as_sqlalchemy(conn, e, queries[-1][0] if queries else None)
        raise  # not reached: raise_as_sqlalchemy raises


def rows_together(
    conn: Connection, queries: Sequence[tuple[Statement, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """The rows of each query, in order. On PostgreSQL they go out in one round trip (with any
    queued writes before them): use it for reads that do not depend on each other's answers."""
    if conn.dialect.name == "sqlite":
        return [statement.rows(conn, params) for statement, params in queries]
    planned = _pg_planned(conn, queries)
    if planned is None:
        return [[tuple(r) for r in conn.execute(s.postgresql, dict(params))] for s, params in queries]
    pending, plans, sent = planned
    answers = _pg_execute(conn, pending, sent)
    return [plan.decoded(answer.rows) for plan, answer in zip(plans, answers, strict=True)]


def _pg_planned(
    conn: Connection, queries: Sequence[tuple[Statement, Mapping[str, Any]]]
) -> tuple[PgSession, list[_PgPlan], list[tuple[str, dict[str, Any]]]] | None:
    """The connection's session, each query's plan, and each query as it is sent (SQL and bound
    parameters); None when one of them must go through SQLAlchemy (see `Statement._pg_ready`)."""
    pending: PgSession | None = None
    plans: list[_PgPlan] = []
    sent: list[tuple[str, dict[str, Any]]] = []
    for statement, params in queries:
        ready = statement._pg_ready(conn, params)
        if ready is None:
            return None
        pending, plan = ready
        plans.append(plan)
        sent.append(plan.sent(params))
    return None if pending is None else (pending, plans, sent)


Rows = list[tuple[Any, ...]]


Query = tuple[Statement, Mapping[str, Any]]
# A read: its queries, and what makes their rows (a list per query, in order) into one value. It
# runs alone (`read`) or with reads that do not depend on it, in one round trip on PostgreSQL
# (`Reads`). A plain tuple: an order's page makes ten of them per request.
Read = tuple[Sequence[Query], Callable[..., T]]


def read(conn: Connection, query: Read[T]) -> T:
    queries, decode = query
    if len(queries) == 1:
        statement, params = queries[0]
        return decode(statement.rows(conn, params))
    return decode(*rows_together(conn, queries))


def read_of_ids(
    conn: Connection, query: Callable[[list[str]], Read[dict[str, T]]], ids: Iterable[str]
) -> dict[str, T]:
    """`read` of a query of some ids (a page of a listing), keyed by id; none run for no id."""
    wanted = sorted(set(ids))
    return read(conn, query(wanted)) if wanted else {}


def read_later(conn: Connection, query: Read[T]) -> Callable[[], T]:
    """`read`, whose value is wanted later in the same unit: on PostgreSQL it rides with the unit's
    next exchange (`PgSession.ride`) instead of making a round trip of its own; the function this
    returns gives its value (sending it then, if nothing has gone since). On SQLite it runs now.
    Ask for the value before the unit ends."""
    planned = _pg_planned(conn, query[0]) if conn.dialect.name == "postgresql" else None
    if planned is None:
        now = read(conn, query)
        return lambda: now
    pending, plans, sent = planned
    riding = pending.ride(sent)

    def value() -> T:
        if riding.answers is None and riding in pending.riders:
            _pg_execute(conn, pending, ())
        if riding.answers is None:  # its exchange failed, or the unit was discarded: ask again
            return read(conn, query)
        return query[1](*(plan.decoded(a.rows) for plan, a in zip(plans, riding.answers, strict=True)))

    return value


class Reads:
    """Reads that do not depend on each other: `add` each (it gives back the function that returns
    its value), `send` them, then ask for the values, each once.

    On PostgreSQL they go out together, in one round trip. On SQLite, where a statement costs no
    round trip, each read runs when its value is asked for, and one never asked for does not run.
    """

    __slots__ = ("_conn", "_lazy", "_queries", "_rows")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lazy = conn.dialect.name == "sqlite"
        self._queries: list[Query] = []
        self._rows: list[Rows] = []

    def add(self, query: Read[T]) -> Callable[[], T]:
        if self._lazy:
            return partial(read, self._conn, query)
        start = len(self._queries)
        self._queries += query[0]
        return partial(self._value, query, start)

    def send(self) -> None:
        if not self._lazy:
            self._rows = rows_together(self._conn, self._queries)

    def _value(self, query: Read[T], start: int) -> T:
        assert self._rows, "asked before the reads were sent"
        queries, decode = query
        return decode(*self._rows[start : start + len(queries)])
