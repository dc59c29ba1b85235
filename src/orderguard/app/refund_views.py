"""Reading refunds (R5.1, R5.2): an order's, one by id, and the administrators' list.

A refund is seen by the parties to its order and by administrators; to anyone else it does not
exist (404, as for orders). Each comes with its armed timers in words (`deadlines`) and whether
it is overdue: unsettled past its settle-by time (R5.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orderguard.app.access import not_found, require_role, role_on_order, visible_order
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.orders import DeadlineView, deadline_view
from orderguard.app.ports import UnitOfWork
from orderguard.domain.machine import Actor, Refusal, Refused, one_of
from orderguard.domain.refunds import REFUND, Refund


@dataclass(frozen=True, slots=True)
class RefundView:
    refund: Refund
    overdue: bool
    deadlines: list[DeadlineView]


@dataclass(frozen=True, slots=True)
class RefundPage:
    refunds: list[RefundView]
    next_cursor: str | None


def order_refunds(ctx: Context, principal: Principal, order_id: str) -> list[RefundView]:
    """The order's refunds, oldest first, for its parties and administrators."""
    now = ctx.clock.now()
    with ctx.reading() as uow:
        visible_order(uow, principal, uow.orders.load_order(order_id), order_id)
        return _views(uow, uow.refunds.refunds_of(order_id), now)


def get_refund(ctx: Context, principal: Principal, refund_id: str) -> RefundView:
    """One refund, for the parties to its order and administrators (404 for anyone else)."""
    now = ctx.clock.now()
    with ctx.reading() as uow:
        refund = uow.refunds.load_refund(refund_id)
        order = uow.orders.load_order(refund.order_id) if refund else None
        if refund is None or order is None or role_on_order(uow, principal, order) is None:
            raise not_found("refund", refund_id)
        (view,) = _views(uow, [refund], now)
        return view


def admin_refunds(
    ctx: Context, principal: Principal, status: str | None, overdue: bool, cursor: str | None, limit: int
) -> RefundPage:
    """Every refund, oldest first; only those in `status`, and with `overdue` only the cancellation
    refunds still unsettled past their settle-by time (R5.2). Administrators only."""
    require_role(principal, Actor.ADMIN)
    if status is not None and status not in REFUND.states:
        raise Refused(Refusal("unknown_status", f"status must be {one_of(REFUND.states)}", 422))
    now = ctx.clock.now()
    with ctx.reading() as uow:
        rows = uow.refunds.admin_refunds(
            status=status,
            overdue_at=now if overdue else None,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        page = _views(uow, rows[:limit], now)
    last = page[-1].refund if len(rows) > limit else None
    return RefundPage(page, encode_cursor(last.created_at, last.id) if last else None)


def _views(uow: UnitOfWork, refunds: list[Refund], now: datetime) -> list[RefundView]:
    armed = uow.refunds.refund_deadlines(r.id for r in refunds)
    return [
        RefundView(r, r.overdue(now), [deadline_view(REFUND, k, due) for k, due in armed.get(r.id, [])])
        for r in refunds
    ]
