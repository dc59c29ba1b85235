"""Refund rows: written with their decisions, loaded (locked when asked), listed for people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from orderguard.domain.refunds import Refund, RefundLine, RefundState
from orderguard.store import tables as t
from orderguard.store.driver import Statement, in_list

_FIELDS = tuple(f.name for f in fields(Refund))
_LINES_AT = _FIELDS.index("lines")
_MUTABLE = (
    "state",
    "attempts",
    "failures",
    "requested_at",
    "retry_at",
    "check_at",
    "provider_ref",
    "accepted_at",
    "expected_at",
    "settled_at",
    "failure_reason",
)
_r = t.refunds.c
_COLUMNS = tuple(_r[f] for f in _FIELDS)

_insert = Statement(t.refunds.insert())
_update = Statement(
    update(t.refunds).where(_r.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in _MUTABLE})
)


def _by_id(array: bool, lock: str | None) -> Any:
    query = select(*_COLUMNS).where(in_list(_r.id, "b_ids", array=array)).order_by(_r.id)
    if lock == "lock":
        return query.with_for_update()
    if lock == "skip":
        return query.with_for_update(skip_locked=True)
    return query


_select = Statement.per_dialect(lambda array: _by_id(array, None))
_select_lock = Statement.per_dialect(lambda array: _by_id(array, "lock"))
_select_skip = Statement.per_dialect(lambda array: _by_id(array, "skip"))


def _row(refund: Refund) -> dict[str, Any]:
    row = {f: getattr(refund, f) for f in _FIELDS}
    row["lines"] = [{"line_id": x.line_id, "quantity": x.quantity, "amount": x.amount} for x in refund.lines]
    return row


def _refund(values: Sequence[Any]) -> Refund:
    row = list(values)
    row[_LINES_AT] = tuple(RefundLine(**line) for line in row[_LINES_AT])
    return Refund(*row)


def insert_refunds(conn: Connection, new: Sequence[Refund]) -> None:
    if new:
        _insert.run_many(conn, [_row(r) for r in new])


def update_refunds(conn: Connection, changed: Sequence[Refund]) -> None:
    if changed:
        _update.run_many(
            conn, [{"b_id": r.id, **{f"b_{c}": getattr(r, c) for c in _MUTABLE}} for r in changed]
        )


def load_refunds(
    conn: Connection, refund_ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, Refund]:
    """Refunds by id; with `lock` their rows are locked; with `skip_locked` held ones are left out."""
    ids = sorted(set(refund_ids))
    if not ids:
        return {}
    query = _select_skip if skip_locked else _select_lock if lock else _select
    return {row[0]: _refund(row) for row in query.rows(conn, {"b_ids": ids})}


def load_refund(conn: Connection, refund_id: str, *, lock: bool = False) -> Refund | None:
    return load_refunds(conn, [refund_id], lock=lock).get(refund_id)


def refunds_of(conn: Connection, order_id: str) -> list[Refund]:
    """The order's refunds, oldest first."""
    rows = conn.execute(select(*_COLUMNS).where(_r.order_id == order_id).order_by(_r.created_at, _r.id))
    return [_refund(row) for row in rows]


def refunded_total(conn: Connection, order_id: str) -> int:
    """Everything granted back on the order, settled or in flight (a failed one is still owed)."""
    amounts = conn.execute(select(_r.amount).where(_r.order_id == order_id)).scalars()
    return sum(amounts)  # summed here: exact at any size, and an order has few refunds


def admin_refunds(
    conn: Connection,
    *,
    status: str | None,
    overdue_at: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Refund]:
    """Up to `limit` refunds, oldest first, after the (created_at, id) `after`.

    Only those in `status` when given; only those unsettled past their settle-by time at
    `overdue_at` when given (R5.2).
    """
    query = select(*_COLUMNS)
    if status:
        query = query.where(_r.state == status)
    if overdue_at is not None:
        query = query.where(_r.state != RefundState.SETTLED, _r.settle_by <= overdue_at)
    if after:
        created_at, last_id = after
        query = query.where(
            or_(_r.created_at > created_at, and_(_r.created_at == created_at, _r.id > last_id))
        )
    rows = conn.execute(query.order_by(_r.created_at, _r.id).limit(limit))
    return [_refund(row) for row in rows]


def refund_deadlines(conn: Connection, refund_ids: Iterable[str]) -> dict[str, list[tuple[str, datetime]]]:
    """(kind, due_at) of each refund's armed deadlines, soonest first."""
    ids = sorted(set(refund_ids))
    out: dict[str, list[tuple[str, datetime]]] = {i: [] for i in ids}
    if not ids:
        return out
    d = t.deadlines.c
    rows = conn.execute(
        select(d.subject_id, d.kind, d.due_at)
        .where(d.subject_type == "refund", d.subject_id.in_(ids), d.state == "armed")
        .order_by(d.due_at, d.id)
    )
    for subject_id, kind, due_at in rows:
        out[subject_id].append((kind, due_at))
    return out


def granted_by_order(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (order, currency): (every refund granted, those not settled yet), for the ledger check.

    Summed here, exact at any size, as the check must read even a ledger gone wrong."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    rows = conn.execute(select(_r.order_id, _r.currency, _r.state, _r.amount))
    for order_id, currency, state, amount in rows:
        total, unsettled = out.get((order_id, currency), (0, 0))
        out[(order_id, currency)] = (
            total + amount,
            unsettled + (0 if state == RefundState.SETTLED else amount),
        )
    return out
