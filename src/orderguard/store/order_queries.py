"""Read-side views of orders: a page of a listing, the timeline, the armed deadlines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Select, and_, bindparam, or_, select

from orderguard.store import orders_repo
from orderguard.store import tables as t
from orderguard.store.driver import Read, Rows, Statement, in_list, read, read_of_ids

_d = t.deadlines.c
_armed_dues_of = Statement.per_dialect(
    lambda array: (
        select(_d.order_id, _d.subject_type, _d.kind, _d.due_at)
        .where(in_list(_d.order_id, "b_orders", array=array), _d.state == "armed")
        .order_by(_d.due_at, _d.id)
    )
)
_armed_dues = Statement(
    select(_d.subject_type, _d.kind, _d.due_at)
    .where(_d.order_id == bindparam("b_order"), _d.state == "armed")
    .order_by(_d.due_at, _d.id)
)


def _page(buyer: bool, stores: bool, status: bool, after: bool) -> Statement:
    """The statement of one shape of `orders_page_read` (which filters it has), every value bound.

    A buyer's or stores' page walks their index (owner, placed_at, id) and stops at the limit. Every
    order's page (an administrator's) has no such index: the page's keys are sorted first, on an
    index that holds them (narrower than the table), and only the page's orders are then read."""
    if not buyer and not stores:
        keys = _page_keys(status, after)
        o = t.orders.c
        return Statement.per_dialect(
            lambda array: (
                select(*orders_repo.ORDER_COLUMNS)
                .where(o.id.in_(keys(array).scalar_subquery()))
                .order_by(o.placed_at.desc(), o.id.desc())
            )
        )
    return Statement.per_dialect(_page_select(buyer, stores, status, after, orders_repo.ORDER_COLUMNS))


def _page_keys(status: bool, after: bool) -> Callable[[bool], Select[Any]]:
    return _page_select(False, False, status, after, [t.orders.c.id])


def _page_select(
    buyer: bool, stores: bool, status: bool, after: bool, columns: Sequence[ColumnElement[Any]]
) -> Callable[[bool], Select[Any]]:
    def build(array: bool) -> Select[Any]:
        o = t.orders.c
        query = select(*columns)
        if buyer:
            query = query.where(o.buyer_id == bindparam("b_buyer"))
        if stores:
            query = query.where(in_list(o.store_id, "b_stores", array=array))
        if status:
            query = query.where(o.state == bindparam("b_status"))
        if after:
            placed_at = bindparam("b_placed_at", type_=o.placed_at.type)
            query = query.where(
                or_(o.placed_at < placed_at, and_(o.placed_at == placed_at, o.id < bindparam("b_last_id")))
            )
        return query.order_by(o.placed_at.desc(), o.id.desc()).limit(bindparam("b_limit", type_=Integer))

    return build


# Built on first use, one per shape: building a statement costs more than running it.
_pages: dict[tuple[bool, bool, bool, bool], Statement] = {}


def orders_page_read(
    *,
    buyer_id: str | None,
    store_ids: set[str] | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Read[Rows]:
    """The rows (`orders_repo.ORDER_COLUMNS`) of up to `limit` orders, newest first, after the
    (placed_at, id) `after`; their lines are read by `orders_repo.lines_read`.

    Only the buyer's orders when `buyer_id` is given, only these stores' when `store_ids` is.
    """
    shape = (buyer_id is not None, store_ids is not None, bool(status), bool(after))
    statement = _pages.get(shape)
    if statement is None:
        statement = _pages[shape] = _page(*shape)
    params: dict[str, Any] = {"b_limit": limit}
    if buyer_id is not None:
        params["b_buyer"] = buyer_id
    if store_ids is not None:
        params["b_stores"] = sorted(store_ids)
    if status:
        params["b_status"] = status
    if after:
        params["b_placed_at"], params["b_last_id"] = after
    return [(statement, params)], _rows


def _rows(rows: Rows) -> Rows:
    return rows


def armed_deadline_dues_read(order_id: str) -> Read[list[tuple[str, str, datetime]]]:
    """(subject type, kind, due_at) of the armed deadlines of the order and its parts, soonest first."""
    return [(_armed_dues, {"b_order": order_id})], _dues_from


def _dues_from(rows: Rows) -> list[tuple[str, str, datetime]]:
    return [(subject_type, kind, due_at) for subject_type, kind, due_at in rows]


def armed_deadline_dues(conn: Connection, order_id: str) -> list[tuple[str, str, datetime]]:
    return read(conn, armed_deadline_dues_read(order_id))


def armed_deadline_dues_of_read(order_ids: Iterable[str]) -> Read[dict[str, list[tuple[str, str, datetime]]]]:
    """`armed_deadline_dues` of each of these orders (some ids, a page of a listing), in one query."""
    return [(_armed_dues_of, {"b_orders": sorted(set(order_ids))})], _dues_of_from


def _dues_of_from(rows: Rows) -> dict[str, list[tuple[str, str, datetime]]]:
    out: dict[str, list[tuple[str, str, datetime]]] = {}
    for order_id, subject_type, kind, due_at in rows:
        out.setdefault(order_id, []).append((subject_type, kind, due_at))
    return out


def armed_deadline_dues_of(
    conn: Connection, order_ids: Iterable[str]
) -> dict[str, list[tuple[str, str, datetime]]]:
    return read_of_ids(conn, armed_deadline_dues_of_read, order_ids)


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
