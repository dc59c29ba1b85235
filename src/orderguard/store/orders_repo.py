"""Order and order-line rows: loaded with their lines, written in bulk."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Connection, Select, Text, bindparam, cast, insert, select, update

from orderguard.domain.frozen import constructor
from orderguard.domain.orders import Address, Line, Order
from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Read, Statement, in_list, read

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
    "ship_by_at",
)


# Orders and lines are selected with their columns in the dataclass's field order and built
# positionally: looking every field up by name costs more than the rest of loading them.
_ORDER_FIELDS = [f.name for f in fields(Order) if f.name != "lines"]
_LINES_AT = [f.name for f in fields(Order)].index("lines")
_ADDRESS_AT = _ORDER_FIELDS.index("address")
_LINE_FIELDS = [f.name for f in fields(Line)]
# An order's row as `orders_with_lines` reads it. The address is read as its JSON text, which
# `_address` decodes once per distinct text: a buyer's orders mostly share one address.
ORDER_COLUMNS = [
    cast(t.orders.c.address, Text).label("address") if f == "address" else t.orders.c[f]
    for f in _ORDER_FIELDS
]


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> Address:
    """The address of this JSON text, as the column's JSON type decodes it (`json.loads`); the
    same (frozen) instance for the same text."""
    return Address(**json.loads(text))


_new_order = constructor(Order)  # every field is read: no __init__ to run
_new_line = constructor(Line)


def _order(row: Sequence[Any], lines: Sequence[Line]) -> Order:
    values = list(row)
    values[_ADDRESS_AT] = _address(values[_ADDRESS_AT])
    values.insert(_LINES_AT, tuple(lines))
    return _new_order(*values)


def _orders_by_id(array: bool) -> Select[Any]:
    return select(*ORDER_COLUMNS).where(in_list(t.orders.c.id, "b_ids", array=array)).order_by(t.orders.c.id)


# Statements are built once (building one costs more than running it) and run straight on
# SQLite's driver (see store/driver.py).
_insert_orders = Statement(insert(t.orders))
_insert_lines = Statement(insert(t.order_lines))
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


def order_queries(
    order_ids: Sequence[str], *, lock: bool = False, skip_locked: bool = False
) -> list[tuple[Statement, dict[str, Any]]]:
    """The orders' and their lines' queries, for `rows_together`; `orders_from` reads their rows.

    The lines of every id asked for: those of orders not found (or skipped as locked) are left out
    by `orders_from`. Lines are never locked: they change only with their order."""
    query = _select_orders_skip if skip_locked else _select_orders_lock if lock else _select_orders
    return [(query, {"b_ids": order_ids}), (_select_lines, {"b_ids": order_ids})]


def orders_from(rows: Sequence[Sequence[Any]], line_rows: Sequence[Sequence[Any]]) -> dict[str, Order]:
    lines = _lines_from(line_rows)
    return {row[0]: _order(row, lines[row[0]]) for row in rows}


def _lines_from(line_rows: Sequence[Sequence[Any]]) -> dict[str, list[Line]]:
    lines: dict[str, list[Line]] = defaultdict(list)
    for order_id, *line in line_rows:
        lines[order_id].append(_new_line(*line))
    return lines


def lines_read(order_ids: Sequence[str]) -> Read[dict[str, list[Line]]]:
    """The lines of these orders, per order in their order; for `orders_with_lines`."""
    return [(_select_lines, {"b_ids": sorted(set(order_ids))})], _lines_from


def orders_with_lines(rows: Sequence[Sequence[Any]], lines: dict[str, list[Line]]) -> list[Order]:
    """The orders of these rows (of `ORDER_COLUMNS`), in the rows' order, with their lines."""
    return [_order(row, lines.get(row[0], ())) for row in rows]


def orders_read(
    order_ids: Sequence[str], *, lock: bool = False, skip_locked: bool = False
) -> Read[dict[str, Order]]:
    return order_queries(order_ids, lock=lock, skip_locked=skip_locked), orders_from


def load_orders(
    conn: Connection, order_ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, Order]:
    """Orders by id; with `lock`, their rows are locked (in id order) until the transaction ends.

    With `skip_locked`, orders another transaction holds are left out instead of waited for.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return read(conn, orders_read(ids, lock=lock, skip_locked=skip_locked))


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
                "handling_days": line.handling_days,
                "cancelled": line.cancelled,
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


def update_orders(conn: Connection, changed: Sequence[Order]) -> None:
    """Write the mutable columns; orders that end up alike (a batch of firings) share one statement."""
    alike: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for o in changed:
        alike[tuple(getattr(o, c) for c in MUTABLE)].append(o.id)
    for values, ids in alike.items():
        _update_orders.send(
            conn, {"b_ids": sorted(ids), **{f"b_{c}": v for c, v in zip(MUTABLE, values, strict=True)}}
        )


_update_lines = Statement(
    update(t.order_lines)
    .where(t.order_lines.c.id == bindparam("b_id"))
    .values(cancelled=bindparam("b_cancelled"))
)


def update_line_quantities(conn: Connection, changed: Sequence[Order]) -> None:
    """Write the cancelled quantities of these orders' lines."""
    rows = [{"b_id": line.id, "b_cancelled": line.cancelled} for o in changed for line in o.lines]
    if rows:
        _update_lines.run_many(conn, rows)
