"""Notifications: written with the decisions that send them, read by their account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """PostgreSQL: the rows given as arrays, inserted in the order given (one statement, no answer
    awaited). A recipient the caller knew comes as it is; any other is found from its order (and its
    store, for the seller) inside the statement, by a subquery that COALESCE evaluates only then:
    the join costs the server more than the rest of the row.

    Each array is read through a `(SELECT ...)` of its own. The planner then cannot count its items,
    so a prepared statement's generic plan is estimated as its custom plans are and the server takes
    it after five executions; given the arrays themselves, it planned the statement again at every
    execution (0.25-0.35 ms, more than running it), for the same plan."""
    given = (
        func.unnest(
            *(
                select(bindparam(name, type_=ARRAY(item))).scalar_subquery()
                for name, item in (
                    ("b_accounts", String),
                    ("b_orders", String),
                    ("b_roles", String),
                    ("b_kinds", String),
                    ("b_texts", Text),
                )
            )
        )
        .table_valued("account_id", "order_id", "role", "kind", "text", with_ordinality="n")
        .render_derived(name="given")
    )
    o, s = t.orders.c, t.stores.c
    party = (
        select(case((given.c.role == "buyer", o.buyer_id), (given.c.role == "seller", s.seller_id)))
        .select_from(t.orders.join(t.stores, s.id == o.store_id))
        .where(o.id == given.c.order_id)
        .scalar_subquery()
    )
    return insert(t.notifications).from_select(
        ["account_id", "order_id", "kind", "text", "created_at"],
        select(
            func.coalesce(given.c.account_id, party),
            given.c.order_id,
            given.c.kind,
            given.c.text,
            bindparam("b_now", type_=UTCDateTime),
        )
        .select_from(given)
        .order_by(given.c.n),
    )


_notify_pg = Statement(_notify_from_orders())


def notify(
    conn: Connection,
    rows: Sequence[tuple[str, str, str, str]],
    now: datetime,
    *,
    buyers: Mapping[str, str] | None = None,
) -> None:
    """rows: (order id, recipient role, kind, text); 'buyer' and 'seller' are the order's parties.

    `buyers` (order id -> buyer's account), when the caller has the orders at hand: their buyers'
    notifications need no look-up."""
    if not rows:
        return
    known = buyers or {}
    accounts = [known.get(order_id) if role == "buyer" else None for order_id, role, _, _ in rows]
    if conn.dialect.name == "postgresql":
        order_ids, roles, kinds, texts = (list(column) for column in zip(*rows, strict=True))
        _notify_pg.send(
            conn,
            {
                "b_accounts": accounts,
                "b_orders": order_ids,
                "b_roles": roles,
                "b_kinds": kinds,
                "b_texts": texts,
                "b_now": now,
            },
        )
        return
    unknown = sorted({row[0] for row, account in zip(rows, accounts, strict=True) if account is None})
    parties = {
        order_id: {"buyer": buyer_id, "seller": seller_id}
        for order_id, buyer_id, seller_id in (_parties.rows(conn, {"b_ids": unknown}) if unknown else [])
    }
    insert_rows(
        conn,
        _insert_notifications,
        [
            {
                "account_id": account or parties[order_id][role],
                "order_id": order_id,
                "kind": kind,
                "text": text,
                "created_at": now,
            }
            for (order_id, role, kind, text), account in zip(rows, accounts, strict=True)
        ],
    )
