"""Cancellation-request rows and fine rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, or_, select, update

from orderguard.domain.cancellation_requests import CancellationRequest, RequestState
from orderguard.domain.fines import Fine
from orderguard.store import tables as t
from orderguard.store.driver import Read, Rows, Statement, in_list, read, read_of_ids

_FIELDS = tuple(f.name for f in fields(CancellationRequest))
_MUTABLE = (
    "state",
    "decided_at",
    "answer",
    "carrier",
    "tracking_code",
    "shipment_id",
    "refund_id",
    "fine_id",
    "refunded",
    "fined",
)
_insert = Statement(t.cancellation_requests.insert())
_update = Statement(
    update(t.cancellation_requests)
    .where(t.cancellation_requests.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _MUTABLE})
)


def _by_id(array: bool) -> Select[Any]:
    return (
        select(*(t.cancellation_requests.c[f] for f in _FIELDS))
        .where(in_list(t.cancellation_requests.c.id, "b_ids", array=array))
        .order_by(t.cancellation_requests.c.id)
    )


_select = Statement.per_dialect(_by_id)
_select_lock = Statement.per_dialect(lambda array: _by_id(array).with_for_update())
_select_skip = Statement.per_dialect(lambda array: _by_id(array).with_for_update(skip_locked=True))
_of_order = Statement(
    select(*(t.cancellation_requests.c[f] for f in _FIELDS))
    .where(t.cancellation_requests.c.order_id == bindparam("b_order"))
    .order_by(t.cancellation_requests.c.created_at, t.cancellation_requests.c.id)
)

_open_of_orders = Statement.per_dialect(
    lambda array: (
        select(*(t.cancellation_requests.c[f] for f in _FIELDS))
        .where(
            in_list(t.cancellation_requests.c.order_id, "b_orders", array=array),
            t.cancellation_requests.c.state == RequestState.OPEN,
        )
        .order_by(t.cancellation_requests.c.created_at, t.cancellation_requests.c.id)
    )
)


def insert_requests(conn: Connection, new: Sequence[CancellationRequest]) -> None:
    if new:
        _insert.run_many(conn, [{f: getattr(r, f) for f in _FIELDS} for r in new])


def update_requests(conn: Connection, changed: Sequence[CancellationRequest]) -> None:
    if changed:
        _update.run_many(
            conn, [{"b_id": r.id, **{f"b_{c}": getattr(r, c) for c in _MUTABLE}} for r in changed]
        )


def load_requests(
    conn: Connection, ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, CancellationRequest]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = _select_skip if skip_locked else _select_lock if lock else _select
    return {row[0]: CancellationRequest(*row) for row in query.rows(conn, {"b_ids": wanted})}


def load_request(conn: Connection, request_id: str, *, lock: bool = False) -> CancellationRequest | None:
    return load_requests(conn, [request_id], lock=lock).get(request_id)


def requests_of(conn: Connection, order_id: str) -> list[CancellationRequest]:
    """The order's requests, oldest first."""
    return [CancellationRequest(*row) for row in _of_order.rows(conn, {"b_order": order_id})]


def open_requests_read(order_id: str) -> Read[list[CancellationRequest]]:
    return [(_of_order, {"b_order": order_id})], _open_from


def _open_from(rows: Rows) -> list[CancellationRequest]:
    return [r for r in (CancellationRequest(*row) for row in rows) if r.state == RequestState.OPEN]


def open_requests(conn: Connection, order_id: str) -> list[CancellationRequest]:
    return read(conn, open_requests_read(order_id))


def open_requests_of_read(order_ids: Iterable[str]) -> Read[dict[str, list[CancellationRequest]]]:
    """The open requests of each of these orders (some ids, a page of a listing), oldest first."""
    return [(_open_of_orders, {"b_orders": sorted(set(order_ids))})], _open_of_from


def _open_of_from(rows: Rows) -> dict[str, list[CancellationRequest]]:
    out: dict[str, list[CancellationRequest]] = {}
    for row in rows:
        request = CancellationRequest(*row)
        out.setdefault(request.order_id, []).append(request)
    return out


def open_requests_of(conn: Connection, order_ids: Iterable[str]) -> dict[str, list[CancellationRequest]]:
    return read_of_ids(conn, open_requests_of_read, order_ids)


_FINE_FIELDS = tuple(f.name for f in fields(Fine) if f.name != "state")
_insert_fine = Statement(t.fines.insert())


def insert_fines(conn: Connection, new: Sequence[Fine]) -> None:
    if new:
        _insert_fine.run_many(conn, [{f: getattr(x, f) for f in _FINE_FIELDS} for x in new])


def update_fines(conn: Connection, changed: Sequence[Fine]) -> None:
    if changed:
        raise ValueError("fines are written once")


def fines_of(conn: Connection, store_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Fine]:
    """The store's fines, newest first, after the (created_at, id) `after`."""
    c = t.fines.c
    query = select(*(c[f] for f in _FINE_FIELDS)).where(c.store_id == store_id)
    if after is not None:
        at, fine_id = after
        query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < fine_id)))
    rows = conn.execute(query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)).all()
    return [Fine(*row) for row in rows]
