"""Writing what was decided from rows read in an earlier transaction, if they are still so.

A unit of work that decides from subjects it did not read itself (the order and payment a pay
command wrote a moment before, say) first says so with `expect_unchanged`: each subject's row is
locked if its mutable columns still hold the values given, and the unit fails with
`ports.Stale` otherwise, writing nothing. The caller then reads the rows as they are, locked, and
decides again.

On PostgreSQL the check is queued like a write: it travels with the unit's writes and COMMIT,
so such a unit is one round trip. When a row is not as given, `og_expect` (migration 0015)
raises `serialization_failure`; the server then skips everything after it up to the pipeline's
end, COMMIT included, and the unit rolls back. Waiting for a row's lock, a check sees the row as
the transaction holding it committed it (PostgreSQL re-reads a locked row that changed).

On SQLite the check runs at once; the unit holds the database's write lock from its BEGIN.

An order is compared with its lines too: a line's cancelled quantity can change while the order's
columns do not (`lines_cancelled`). Cancelled quantities only grow, so their sum stands for them.
It is checked by a statement of its own, after the order's row is locked: a statement sees what
was committed when it began, so one that waited for the order's lock sees the lines as their
writer, who held that lock, left them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, Table, Text, bindparam, func, literal_column, select
from sqlalchemy.sql import Executable
from sqlalchemy.sql.expression import ColumnElement

from orderguard.app.ports import Stale
from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment
from orderguard.store import tables as t
from orderguard.store.driver import Statement
from orderguard.store.orders_repo import MUTABLE as ORDER_COLUMNS
from orderguard.store.payments_repo import MUTABLE as PAYMENT_COLUMNS


def _checked(matching: Executable, *, postgresql: bool) -> Executable:
    """How many rows `matching` finds: PostgreSQL asks for exactly one, SQLite counts them."""
    found = matching.subquery("still")  # type: ignore[attr-defined]
    if postgresql:
        return select(func.og_expect(func.count() == 1, bindparam("b_what", type_=Text))).select_from(found)
    return select(func.count()).select_from(found)


def _statement(matching: Executable) -> Statement:
    return Statement(_checked(matching, postgresql=False), postgresql=_checked(matching, postgresql=True))


def _row_still(table: Table, columns: Sequence[str]) -> Statement:
    """The row of id `b_id`, locked, if each of `columns` still holds `b_<column>`."""
    return _statement(
        select(literal_column("1"))
        .select_from(table)
        .where(
            table.c.id == bindparam("b_id"),
            *(table.c[c].is_not_distinct_from(bindparam(f"b_{c}")) for c in columns),
        )
        .with_for_update()
    )


def _cancelled_sum() -> ColumnElement[Any]:
    return func.coalesce(func.sum(t.order_lines.c.cancelled), 0)


# The order's lines, if their cancelled quantities still add up to `b_cancelled`.
_lines_still = _statement(
    select(_cancelled_sum())
    .where(t.order_lines.c.order_id == bindparam("b_id"))
    .having(_cancelled_sum() == bindparam("b_cancelled", type_=Integer))
)
_order_still = _row_still(t.orders, ORDER_COLUMNS)
_payment_still = _row_still(t.payments, PAYMENT_COLUMNS)


def _checks(subject: Any) -> list[tuple[Statement, Mapping[str, Any]]]:
    if not isinstance(subject, Order | Payment):
        raise ValueError(f"no check of unchanged {type(subject).__name__} rows")
    what = {"b_what": f"{subject.lifecycle} {subject.id} changed since it was read"}
    if isinstance(subject, Order):
        columns = {f"b_{c}": getattr(subject, c) for c in ORDER_COLUMNS}
        cancelled = sum(line.cancelled for line in subject.lines)
        return [
            (_order_still, {"b_id": subject.id, **columns, **what}),
            (_lines_still, {"b_id": subject.id, "b_cancelled": cancelled, **what}),
        ]
    columns = {f"b_{c}": getattr(subject, c) for c in PAYMENT_COLUMNS}
    return [(_payment_still, {"b_id": subject.id, **columns, **what})]


def expect_unchanged(conn: Connection, subjects: Sequence[Any]) -> None:
    """Lock each subject's row, in the order given, if it is still as given; else the unit fails
    with `Stale` (at once on SQLite, when the unit next reaches the server on PostgreSQL)."""
    for subject in subjects:
        for statement, params in _checks(subject):
            if conn.dialect.name == "postgresql":
                statement.send(conn, params)
            elif statement.rows(conn, params)[0][0] != 1:
                raise Stale(params["b_what"])
