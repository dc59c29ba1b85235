"""Read-side views of orders: a page of a listing, the timeline, the armed deadlines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select

from orderguard.store import tables as t
from orderguard.store.driver import Statement

_d = t.deadlines.c
_armed_dues = Statement(
    select(_d.subject_type, _d.kind, _d.due_at)
    .where(_d.order_id == bindparam("b_order"), _d.state == "armed")
    .order_by(_d.due_at, _d.id)
)


def order_keys_page(
    conn: Connection,
    *,
    buyer_id: str | None,
    store_ids: set[str] | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[str, datetime]]:
    """(id, placed_at) of up to `limit` orders, newest first, after the (placed_at, id) `after`.

    Only the buyer's orders when `buyer_id` is given, only these stores' when `store_ids` is.
    """
    query = select(t.orders.c.id, t.orders.c.placed_at)
    if buyer_id is not None:
        query = query.where(t.orders.c.buyer_id == buyer_id)
    if store_ids is not None:
        query = query.where(t.orders.c.store_id.in_(store_ids))
    if status:
        query = query.where(t.orders.c.state == status)
    if after:
        placed_at, last_id = after
        query = query.where(
            or_(
                t.orders.c.placed_at < placed_at,
                and_(t.orders.c.placed_at == placed_at, t.orders.c.id < last_id),
            )
        )
    rows = conn.execute(query.order_by(t.orders.c.placed_at.desc(), t.orders.c.id.desc()).limit(limit))
    return [(r.id, r.placed_at) for r in rows]


def armed_deadline_dues(conn: Connection, order_id: str) -> list[tuple[str, str, datetime]]:
    """(subject type, kind, due_at) of the armed deadlines of the order and its parts, soonest first."""
    return [
        (subject_type, kind, due_at)
        for subject_type, kind, due_at in _armed_dues.rows(conn, {"b_order": order_id})
    ]


def armed_deadline_dues_of(
    conn: Connection, order_ids: Iterable[str]
) -> dict[str, list[tuple[str, str, datetime]]]:
    """`armed_deadline_dues` of each of these orders (a page of a listing), in one query."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    d = t.deadlines.c
    rows = conn.execute(
        select(d.order_id, d.subject_type, d.kind, d.due_at)
        .where(d.order_id.in_(wanted), d.state == "armed")
        .order_by(d.due_at, d.id)
    )
    out: dict[str, list[tuple[str, str, datetime]]] = {}
    for order_id, subject_type, kind, due_at in rows:
        out.setdefault(order_id, []).append((subject_type, kind, due_at))
    return out


def timeline_events(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's events in the order they happened."""
    rows = conn.execute(select(t.events).where(t.events.c.order_id == order_id).order_by(t.events.c.id))
    return [
        {
            "kind": r.kind,
            "subject_type": r.subject_type,
            "subject_id": r.subject_id,
            "actor": r.actor,
            "actor_id": r.actor_id,
            "rule": r.rule,
            "at": r.occurred_at,
            "data": r.data,
        }
        for r in rows
    ]
