"""Inserting many rows at once, on either database."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

from orderguard.store.driver import Statement

BATCH_ROWS = 20  # below this, a multi-row INSERT of its own shape costs no more than the arrays


def insert_rows(conn: Connection, statement: Statement, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in the connection's transaction.

    On PostgreSQL a few rows go as one multi-row INSERT (a shape per row count, compiled once
    each); a batch goes as one `INSERT ... SELECT FROM unnest(...)` of one array per column, sent
    in binary, in the order given. A column whose value is the same in every row of the batch (a
    due storm's events share their kind, actor, rule and time) is sent once, as a value, not as an
    array: each item of an array costs the client about half a microsecond to encode. Either is
    queued with the unit's other writes (no answer awaited). psycopg's executemany would be one
    pipelined statement per row, and COPY must first flush the queued writes (an exchange of its
    own) and formats each row in Python.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        statement.run_many(conn, rows)
        return
    if len(rows) < BATCH_ROWS:
        statement.insert_many(conn, rows)
        return
    table = statement.statement.table  # type: ignore[attr-defined]
    names = tuple(rows[0])
    columns = {n: [row[n] for row in rows] for n in names}
    same = frozenset(n for n in names[1:] if columns[n].count(columns[n][0]) == len(rows))
    _unnest_insert(table, names, same).send(
        conn, {f"b_{n}": columns[n][0] if n in same else columns[n] for n in names}
    )


@functools.cache
def _unnest_insert(table: Table, names: tuple[str, ...], same: frozenset[str]) -> Statement:
    """`INSERT INTO table (names) SELECT ... FROM unnest(:b_<name>, ...) ORDER BY given_position`,
    the columns `same` as one value each (the first column is always an array: rows need one)."""
    varying = [n for n in names if n not in same]
    given = (
        func.unnest(*(bindparam(f"b_{n}", type_=ARRAY(table.c[n].type)) for n in varying))
        .table_valued(*varying, with_ordinality="given_position")
        .render_derived(name="given")
    )
    values = [
        cast(bindparam(f"b_{n}", type_=table.c[n].type), table.c[n].type) if n in same else given.c[n]
        for n in names
    ]
    in_order = select(*values).order_by(given.c.given_position)
    return Statement(insert(table).from_select(list(names), in_order))
