"""Loading orders (with their lines) and writing decisions about them, in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, insert, select, update

from orderguard.domain.orders import LEAVE_CART, RESTOCK, Address, Line, Order, OrderDecision
from orderguard.store import tables as t
from orderguard.store.driver import Statement, in_list
from orderguard.store.ids import new_id

MUTABLE = (
    "state",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "protection_ends_at",
    "completed_at",
    "dispute_window_ends_at",
    "closed_at",
    "cancelled_at",
)


# Orders and lines are selected with their columns in the dataclass's field order and built
# positionally: looking every field up by name costs more than the rest of loading them.
_ORDER_FIELDS = [f.name for f in fields(Order) if f.name != "lines"]
_LINES_AT = [f.name for f in fields(Order)].index("lines")
_ADDRESS_AT = _ORDER_FIELDS.index("address")
_LINE_FIELDS = [f.name for f in fields(Line)]


def _order(row: Sequence[Any], lines: Sequence[Line]) -> Order:
    values = list(row)
    values[_ADDRESS_AT] = Address(**values[_ADDRESS_AT])
    values.insert(_LINES_AT, tuple(lines))
    return Order(*values)


def _orders_by_id(array: bool) -> Select[Any]:
    return (
        select(*(t.orders.c[f] for f in _ORDER_FIELDS))
        .where(in_list(t.orders.c.id, "b_ids", array=array))
        .order_by(t.orders.c.id)
    )


# Statements are built once (building one costs more than running it) and run straight on
# SQLite's driver (see store/driver.py).
_select_orders = Statement.per_dialect(_orders_by_id)
_select_orders_lock = Statement.per_dialect(lambda array: _orders_by_id(array).with_for_update())
_select_orders_skip = Statement.per_dialect(
    lambda array: _orders_by_id(array).with_for_update(skip_locked=True)
)
_select_lines = Statement.per_dialect(
    lambda array: (
        select(t.order_lines.c.order_id, *(t.order_lines.c[f] for f in _LINE_FIELDS))
        .where(in_list(t.order_lines.c.order_id, "b_ids", array=array))
        .order_by(t.order_lines.c.order_id, t.order_lines.c.position)
    )
)
_insert_orders = Statement(insert(t.orders))
_insert_lines = Statement(insert(t.order_lines))
_insert_events = Statement(insert(t.events))
_insert_deadlines = Statement(insert(t.deadlines))
_insert_postings = Statement(insert(t.postings))
_insert_notifications = Statement(insert(t.notifications))
_sellers_of_stores = Statement.per_dialect(
    lambda array: select(t.stores.c.id, t.stores.c.seller_id).where(
        in_list(t.stores.c.id, "b_ids", array=array)
    )
)
_leave_cart = Statement.per_dialect(
    lambda array: delete(t.cart_items).where(in_list(t.cart_items.c.order_id, "b_ids", array=array))
)


def load_orders(
    conn: Connection, order_ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, Order]:
    """Orders by id; with `lock`, their rows are locked (in id order) until the transaction ends.

    With `skip_locked`, orders another transaction holds are left out instead of waited for.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    query = _select_orders_skip if skip_locked else _select_orders_lock if lock else _select_orders
    rows = query.rows(conn, {"b_ids": ids})
    ids = [row[0] for row in rows]
    if not ids:
        return {}
    lines: dict[str, list[Line]] = defaultdict(list)
    for order_id, *line in _select_lines.rows(conn, {"b_ids": ids}):
        lines[order_id].append(Line(*line))
    return {row[0]: _order(row, lines[row[0]]) for row in rows}


COPY_FROM_ROWS = 20  # below this, an ordinary INSERT costs no more than starting a COPY


def insert_rows(conn: Connection, statement: Statement, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in the connection's transaction.

    On PostgreSQL a batch goes through COPY: psycopg runs executemany as one pipelined
    statement per row, and a multi-row INSERT is a new statement to render for every batch
    size, both several times dearer per row than COPY.
    """
    if not rows:
        return
    if len(rows) < COPY_FROM_ROWS or conn.dialect.name != "postgresql":
        statement.run_many(conn, rows)
        return
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


def load_order(conn: Connection, order_id: str, *, lock: bool = False) -> Order | None:
    return load_orders(conn, [order_id], lock=lock).get(order_id)


def insert_orders(conn: Connection, new_orders: Sequence[Order]) -> None:
    if not new_orders:
        return
    insert_rows(
        conn,
        _insert_orders,
        [
            {
                "id": o.id,
                "buyer_id": o.buyer_id,
                "store_id": o.store_id,
                "state": o.state,
                "currency": o.currency,
                "address": _address_json(o.address),
                "policy_key": o.policy_key,
                "placed_at": o.placed_at,
                "pay_by_at": o.pay_by_at,
                **{c: getattr(o, c) for c in MUTABLE if c != "state"},
            }
            for o in new_orders
        ],
    )
    insert_rows(
        conn,
        _insert_lines,
        [
            {
                "id": line.id,
                "order_id": o.id,
                "position": i,
                "offer_id": line.offer_id,
                "product_id": line.product_id,
                "title": line.title,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "shipping_price": line.shipping_price,
                "carrier": line.carrier,
                "promised_days": line.promised_days,
            }
            for o in new_orders
            for i, line in enumerate(o.lines)
        ],
    )


def _address_json(address: Address) -> dict[str, str]:
    return {
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": address.country,
    }


_update_orders = Statement.per_dialect(
    lambda array: (
        update(t.orders)
        .where(in_list(t.orders.c.id, "b_ids", array=array))
        .values({c: bindparam(f"b_{c}") for c in MUTABLE})
    )
)
_cancel_deadlines = Statement.per_dialect(
    lambda array: (
        update(t.deadlines)
        .where(
            in_list(t.deadlines.c.subject_id, "b_subjects", array=array),
            t.deadlines.c.kind == bindparam("b_kind"),
            t.deadlines.c.state == "armed",
        )
        .values(state="cancelled", settled_at=bindparam("b_now"))
    )
)


def update_orders(conn: Connection, changed: Sequence[Order]) -> None:
    """Write the mutable columns; orders that end up alike (a batch of firings) share one statement."""
    alike: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for o in changed:
        alike[tuple(getattr(o, c) for c in MUTABLE)].append(o.id)
    for values, ids in alike.items():
        _update_orders.run(
            conn, {"b_ids": sorted(ids), **{f"b_{c}": v for c, v in zip(MUTABLE, values, strict=True)}}
        )


def save_decisions(
    conn: Connection, decisions: Sequence[OrderDecision], now: datetime, *, placed: bool = False
) -> None:
    """Write every change of these decisions with one statement per kind of change.

    With `placed`, the decisions are about new orders, which are inserted.
    """
    decisions = [d for d in decisions if d.changed]
    if not decisions:
        return
    if placed:
        insert_orders(conn, [d.subject for d in decisions])
    else:
        update_orders(conn, [d.subject for d in decisions])
    write_events(conn, [(d.subject.id, "order", d.subject.id, e) for d in decisions for e in d.events])
    cancel_deadlines(conn, [(d.subject.id, k) for d in decisions for k in d.cancel], now)
    arm_deadlines(
        conn, [("order", d.subject.id, d.subject.id, a.kind, a.due_at) for d in decisions for a in d.arm], now
    )
    write_ledger(conn, [txn for d in decisions for txn in d.ledger], now)
    notify(conn, [(d.subject, n.recipient, n.kind, n.text) for d in decisions for n in d.notifications], now)
    leaving = [d.subject.id for d in decisions if LEAVE_CART in d.effects]
    if leaving:
        _leave_cart.run(conn, {"b_ids": leaving})
    # Last: offers are rows that every worker and checkout updates, so their locks are held briefly.
    restock(conn, [d.subject for d in decisions if RESTOCK in d.effects])


def write_events(conn: Connection, rows: Sequence[tuple[str, str, str, Any]]) -> None:
    """rows: (order_id, subject_type, subject_id, domain Event)."""
    if rows:
        insert_rows(
            conn,
            _insert_events,
            [
                {
                    "order_id": order_id,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "kind": e.kind,
                    "actor": str(e.actor),
                    "actor_id": e.actor_id,
                    "rule": e.rule,
                    "data": e.data,
                    "occurred_at": e.at,
                }
                for order_id, subject_type, subject_id, e in rows
            ],
        )


def cancel_deadlines(conn: Connection, pairs: Sequence[tuple[str, str]], now: datetime) -> None:
    """pairs: (subject_id, kind) whose armed deadlines no longer apply."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for subject_id, kind in pairs:
        by_kind[kind].add(subject_id)
    for kind, subjects in sorted(by_kind.items()):
        _cancel_deadlines.run(conn, {"b_subjects": sorted(subjects), "b_kind": kind, "b_now": now})


def arm_deadlines(
    conn: Connection, rows: Sequence[tuple[str, str, str, str, datetime]], now: datetime
) -> None:
    """rows: (subject_type, subject_id, order_id, kind, due_at)."""
    if rows:
        insert_rows(
            conn,
            _insert_deadlines,
            [
                {
                    "subject_type": st,
                    "subject_id": sid,
                    "order_id": oid,
                    "kind": kind,
                    "due_at": due,
                    "state": "armed",
                    "created_at": now,
                }
                for st, sid, oid, kind, due in rows
            ],
        )


def write_ledger(conn: Connection, txns: Sequence[Any], now: datetime) -> None:
    if txns:
        rows = []
        for txn in txns:
            txn_id = new_id("txn")
            rows += [
                {
                    "txn_id": txn_id,
                    "kind": txn.kind,
                    "order_id": txn.order_id,
                    "account": p.account,
                    "amount": p.amount,
                    "currency": p.currency,
                    "created_at": now,
                }
                for p in txn.postings
            ]
        insert_rows(conn, _insert_postings, rows)


def notify(conn: Connection, rows: Sequence[tuple[Order, str, str, str]], now: datetime) -> None:
    """rows: (order, recipient role, kind, text); 'seller' resolves to the store's owner."""
    if not rows:
        return
    store_ids = {o.store_id for o, role, _, _ in rows if role == "seller"}
    sellers = dict(_sellers_of_stores.rows(conn, {"b_ids": sorted(store_ids)})) if store_ids else {}
    insert_rows(
        conn,
        _insert_notifications,
        [
            {
                "account_id": o.buyer_id if role == "buyer" else sellers[o.store_id],
                "order_id": o.id,
                "kind": kind,
                "text": text,
                "created_at": now,
            }
            for o, role, kind, text in rows
        ],
    )


_restock = Statement(
    update(t.offers)
    .where(t.offers.c.id == bindparam("b_offer"))
    .values(stock=t.offers.c.stock + bindparam("b_qty"))
)


def restock(conn: Connection, cancelled: Sequence[Order]) -> None:
    back: dict[str, int] = defaultdict(int)
    for order in cancelled:
        for line in order.lines:
            back[line.offer_id] += line.quantity
    if back:  # sorted: offers are always locked in the same order, so no deadlock
        _restock.run_many(conn, [{"b_offer": k, "b_qty": back[k]} for k in sorted(back)])
