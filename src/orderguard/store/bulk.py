"""Inserting many rows at once, on either database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from orderguard.store.driver import Statement
from orderguard.store.pg_session import raise_as_sqlalchemy, session

COPY_FROM_ROWS = 20  # below this, an ordinary INSERT costs no more than starting a COPY


def insert_rows(conn: Connection, statement: Statement, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in the connection's transaction.

    On PostgreSQL a few rows go as one multi-row INSERT, queued with the unit's other writes (a
    shape per row count, compiled once each); a batch goes through COPY: psycopg runs executemany
    as one pipelined statement per row, and multi-row INSERTs of every batch size would be as
    many statements to prepare, both several times dearer per row than COPY.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        statement.run_many(conn, rows)
        return
    if len(rows) < COPY_FROM_ROWS:
        statement.insert_many(conn, rows)
        return
    pending = session(conn)
    if pending is not None:  # COPY cannot share a pipeline: what is queued goes first
        try:
            pending.flush()
        except Exception as e:
            pending.discard()
            raise_as_sqlalchemy(conn, e, None)
    table = statement.statement.table  # type: ignore[attr-defined]
    names = list(rows[0])
    dialect = conn.dialect
    binds = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    preparer = dialect.identifier_preparer
    columns = ", ".join(preparer.quote(n) for n in names)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([bind(row[n]) if bind else row[n] for n, bind in zip(names, binds, strict=True)])
