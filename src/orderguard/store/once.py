"""Inserting a row unless its key is taken, without a race between the check and the insert.

`INSERT ... ON CONFLICT (key) DO NOTHING` on both databases. On PostgreSQL, when a concurrent
transaction has inserted the same key but not committed yet, the statement waits for it: if it
commits, nothing is inserted; if it rolls back, this row goes in. So of any number of
concurrent inserts of one key exactly one inserts, and none fails with a unique violation.
On SQLite writers are serialised (`BEGIN IMMEDIATE`), so the same holds trivially (RETURNING
needs SQLite 3.35 or later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_once(conn: Connection, table: Table, values: Mapping[str, Any], key: Sequence[str]) -> bool:
    """Insert `values` unless a row with the same `key` columns exists; True when it was inserted."""
    build = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        build(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[k] for k in key))  # a row back means inserted (rowcount is not reliable)
    )
    return conn.execute(statement).first() is not None
