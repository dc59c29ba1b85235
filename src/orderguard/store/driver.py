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

On PostgreSQL a `Statement` is handed to `Connection.execute`: there the round trip to the
server dominates and SQLAlchemy's overhead does not matter. `Statement.per_dialect` builds a
statement whose lists are bound as one array on PostgreSQL (see `in_list`).

What the fast path does not do, it refuses when the statement is built, at import time
(`UnsupportedStatement`): Python-side column defaults and `onupdate`s (only SQLAlchemy's
execution evaluates them), `bindparam(callable_=...)`, and `IN` lists fixed in the statement
(`.in_([...])`; bind the list as an expanding parameter instead). It is tested on the SQLAlchemy
minor version that `pyproject.toml` pins. `ORDERGUARD_SQLITE_DIRECT=0` switches it off, so
every statement goes through `Connection.execute`; CI runs the SQLite suite once that way too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Connection, Table, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import BindParameter, ClauseElement, ColumnElement, any_

Processor = Callable[[Any], Any] | None

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
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, decoder) where one is needed


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

    __slots__ = ("_expanding", "_plans", "postgresql", "statement")

    def __init__(self, statement: Executable, *, postgresql: Executable | None = None) -> None:
        _refuse_unsupported(statement)
        self.statement = statement
        self.postgresql = statement if postgresql is None else postgresql
        self._expanding: tuple[str, ...] | None = None
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    @classmethod
    def per_dialect(cls, build: Callable[[bool], Executable]) -> Statement:
        """`build(array)` makes the statement with its lists bound as arrays (PostgreSQL) or expanded."""
        return cls(build(False), postgresql=build(True))

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns, as tuples in the order of its columns."""
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.postgresql, dict(params)))
        if not DIRECT:
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        plan = self._plan(conn.dialect, params)
        cursor = _driver(conn).execute(*_bound(plan, params))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        if plan.results:
            for i, row in enumerate(rows):
                values = list(row)
                for at, decode in plan.results:
                    values[at] = decode(values[at])
                rows[i] = tuple(values)
        return rows

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; returns how many rows it changed."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.postgresql, dict(params)).rowcount)
        if not DIRECT:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        plan = self._plan(conn.dialect, params)
        return int(_driver(conn).execute(*_bound(plan, params)).rowcount)

    def run_many(self, conn: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set (all with the same keys and list lengths)."""
        if not many:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.postgresql, [dict(p) for p in many])
            return
        if not DIRECT:
            conn.execute(self.statement, [dict(p) for p in many])
            return
        plan = self._plan(conn.dialect, many[0])
        _driver(conn).executemany(plan.sql, [_bound(plan, p)[1] for p in many])

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
        columns = getattr(self.statement, "selected_columns", ())
        results = tuple(
            (i, decode)
            for i, column in enumerate(columns)
            if (decode := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        )
        return _Plan(sql, params, fixed, results)


def _bound(plan: _Plan, given: Mapping[str, Any]) -> tuple[str, list[Any]]:
    values: list[Any] = []
    for name, encode, expanding in plan.params:
        value = given[name] if name in given else plan.fixed[name]
        if expanding:
            values += [encode(v) for v in value] if encode else value
        else:
            values.append(encode(value) if encode else value)
    return plan.sql, values


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection
