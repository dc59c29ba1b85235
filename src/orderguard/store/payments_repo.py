"""Payment rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields

from sqlalchemy import Connection, bindparam, select, update

from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment
from orderguard.store import tables as t
from orderguard.store.driver import Read, Rows, Statement, in_list, read, rows_together
from orderguard.store.orders_repo import order_queries, orders_from

_PAYMENT_FIELDS = tuple(f.name for f in fields(Payment))  # `asdict` would deep-copy every value
MUTABLE = ("state", "provider_ref", "attempted_at", "settled_at", "failure_reason")
# hot: built once, run straight on SQLite's driver
_insert_payment = Statement(t.payments.insert())
_update_payment = Statement(
    update(t.payments)
    .where(t.payments.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in MUTABLE})
)
_payments_by_id = Statement.per_dialect(
    lambda array: (
        select(*(t.payments.c[f] for f in _PAYMENT_FIELDS))
        .where(in_list(t.payments.c.id, "b_ids", array=array))
        .order_by(t.payments.c.id)
    )
)
_payments_by_id_lock = Statement.per_dialect(
    lambda array: (
        select(*(t.payments.c[f] for f in _PAYMENT_FIELDS))
        .where(in_list(t.payments.c.id, "b_ids", array=array))
        .order_by(t.payments.c.id)
        .with_for_update()
    )
)
_payments_by_id_skip = Statement.per_dialect(
    lambda array: (
        select(*(t.payments.c[f] for f in _PAYMENT_FIELDS))
        .where(in_list(t.payments.c.id, "b_ids", array=array))
        .order_by(t.payments.c.id)
        .with_for_update(skip_locked=True)
    )
)
_payments_of_order = Statement(
    select(*(t.payments.c[f] for f in _PAYMENT_FIELDS))
    .where(t.payments.c.order_id == bindparam("b_order"))
    .order_by(t.payments.c.created_at, t.payments.c.id)
)


def insert_payments(conn: Connection, new: Sequence[Payment]) -> None:
    if new:
        _insert_payment.run_many(conn, [{f: getattr(p, f) for f in _PAYMENT_FIELDS} for p in new])


def update_payments(conn: Connection, changed: Sequence[Payment]) -> None:
    if changed:
        _update_payment.run_many(
            conn, [{"b_id": p.id, **{f"b_{c}": getattr(p, c) for c in MUTABLE}} for p in changed]
        )


def load_payments(
    conn: Connection, payment_ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, Payment]:
    """Payments by id; with `lock` their rows are locked; with `skip_locked` held ones are left out."""
    ids = sorted(set(payment_ids))
    if not ids:
        return {}
    query = _payments_by_id_skip if skip_locked else _payments_by_id_lock if lock else _payments_by_id
    return {row[0]: Payment(*row) for row in query.rows(conn, {"b_ids": ids})}


def load_payment(conn: Connection, payment_id: str, *, lock: bool = False) -> Payment | None:
    return load_payments(conn, [payment_id], lock=lock).get(payment_id)


def lock_with_order(conn: Connection, payment_id: str, order_id: str) -> tuple[Order | None, Payment | None]:
    """The order, then the payment, each locked (orders before payments), in one round trip."""
    rows, line_rows, payment_rows = rows_together(
        conn, [*order_queries([order_id], lock=True), (_payments_by_id_lock, {"b_ids": [payment_id]})]
    )
    order = orders_from(rows, line_rows).get(order_id)
    return order, Payment(*payment_rows[0]) if payment_rows else None


def payments_of_read(order_id: str) -> Read[list[Payment]]:
    """The order's payments, oldest first."""
    return [(_payments_of_order, {"b_order": order_id})], _payments_from


def _payments_from(rows: Rows) -> list[Payment]:
    return [Payment(*row) for row in rows]


def payments_of(conn: Connection, order_id: str) -> list[Payment]:
    return read(conn, payments_of_read(order_id))


def captured_payment(conn: Connection, order_id: str) -> Payment | None:
    """The order's captured payment (an order is paid once), the one its refunds go back to."""
    row = conn.execute(
        select(*(t.payments.c[f] for f in _PAYMENT_FIELDS)).where(
            t.payments.c.order_id == order_id, t.payments.c.state == "captured"
        )
    ).first()
    return Payment(*row) if row else None
