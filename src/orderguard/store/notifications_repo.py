"""Notifications: written with the decisions that send them, read by their account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, Text, bindparam, case, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Statement, in_list
from orderguard.store.types import UTCDateTime


def notifications_of(conn: Connection, account_id: str, limit: int) -> list[dict[str, Any]]:
    """The account's latest notifications, newest first."""
    rows = conn.execute(
        select(t.notifications)
        .where(t.notifications.c.account_id == account_id)
        .order_by(t.notifications.c.id.desc())
        .limit(limit)
    )
    return [
        {"id": r.id, "kind": r.kind, "order_id": r.order_id, "text": r.text, "created_at": r.created_at}
        for r in rows
    ]


_insert_notifications = Statement(insert(t.notifications))
_parties = Statement.per_dialect(
    lambda array: (
        select(t.orders.c.id, t.orders.c.buyer_id, t.stores.c.seller_id)
        .join(t.stores, t.stores.c.id == t.orders.c.store_id)
        .where(in_list(t.orders.c.id, "b_ids", array=array))
    )
)


def _notify_from_orders() -> Any:
    """PostgreSQL: the rows given as arrays, each recipient found from its order in the same statement,
    inserted in the order given (one statement, no answer awaited, instead of a read then a write)."""
    given = (
        func.unnest(
            bindparam("b_orders", type_=ARRAY(String)),
            bindparam("b_roles", type_=ARRAY(String)),
            bindparam("b_kinds", type_=ARRAY(String)),
            bindparam("b_texts", type_=ARRAY(Text)),
        )
        .table_valued("order_id", "role", "kind", "text", with_ordinality="n")
        .render_derived(name="given")
    )
    o, s = t.orders.c, t.stores.c
    recipient = case((given.c.role == "buyer", o.buyer_id), (given.c.role == "seller", s.seller_id))
    return insert(t.notifications).from_select(
        ["account_id", "order_id", "kind", "text", "created_at"],
        select(recipient, given.c.order_id, given.c.kind, given.c.text, bindparam("b_now", type_=UTCDateTime))
        .select_from(given)
        .join(t.orders, o.id == given.c.order_id)
        .join(t.stores, s.id == o.store_id)
        .order_by(given.c.n),
    )


_notify_pg = Statement(_notify_from_orders())


def notify(conn: Connection, rows: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
    """rows: (order id, recipient role, kind, text); 'buyer' and 'seller' are the order's parties."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        order_ids, roles, kinds, texts = (list(column) for column in zip(*rows, strict=True))
        _notify_pg.send(
            conn, {"b_orders": order_ids, "b_roles": roles, "b_kinds": kinds, "b_texts": texts, "b_now": now}
        )
        return
    parties = {
        order_id: {"buyer": buyer_id, "seller": seller_id}
        for order_id, buyer_id, seller_id in _parties.rows(conn, {"b_ids": sorted({r[0] for r in rows})})
    }
    insert_rows(
        conn,
        _insert_notifications,
        [
            {
                "account_id": parties[order_id][role],
                "order_id": order_id,
                "kind": kind,
                "text": text,
                "created_at": now,
            }
            for order_id, role, kind, text in rows
        ],
    )
