"""Firing due deadlines, exactly once, in due order (the scheduler's use case).

A batch is claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so any number
of workers share the table; orders that a user command holds right now are
skipped too and retried on the next round, which also keeps workers and
commands from waiting on each other in opposite orders. Each claimed
deadline either fires (its event is still valid for the subject) or is
cancelled as stale; cost grows with the number due, never with the number
armed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from orderguard.app.context import Context
from orderguard.app.payments import settle_transfer
from orderguard.domain.machine import Refused
from orderguard.domain.orders import ORDER, OrderDecision
from orderguard.domain.payments import PAYMENT
from orderguard.store.db import unit_of_work
from orderguard.store.deadlines_repo import DueDeadline, claim_due, settle
from orderguard.store.ledger_repo import escrow_balances
from orderguard.store.orders_repo import load_orders, save_decisions
from orderguard.store.payments_repo import load_payment


class Facts:
    """What some firings need beyond their subject, loaded once per batch (domain.machine.Facts)."""

    def __init__(self, conn: Connection, order_ids: list[str]) -> None:
        self._conn = conn
        self._order_ids = order_ids
        self._escrow: dict[str, int] | None = None

    def escrow(self, order_id: str) -> int:
        if self._escrow is None:
            self._escrow = escrow_balances(self._conn, self._order_ids)
        return self._escrow.get(order_id, 0)


@dataclass(frozen=True, slots=True)
class FireReport:
    claimed: int  # due rows this round looked at
    fired: int  # of which fired; the others were stale (cancelled) or left for the next round


def fire_due(ctx: Context, limit: int = 500) -> FireReport:
    """Fire up to `limit` deadlines due now, in one transaction."""
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        claimed = claim_due(conn, now, limit)
        if not claimed:
            return FireReport(0, 0)
        order_due = [d for d in claimed if d.subject_type == "order"]
        fired = _fire_order_deadlines(conn, ctx, order_due, now)
        for d in claimed:
            if d.subject_type == "payment":
                fired += _fire_payment_deadline(conn, ctx, d, now)
        return FireReport(len(claimed), fired)


def _fire_payment_deadline(conn: Connection, ctx: Context, d: DueDeadline, now: datetime) -> int:
    payment = load_payment(conn, d.subject_id)
    if payment is None or PAYMENT.timed(payment.state, d.kind) is None:
        settle(conn, [(d.id, "cancelled")], now)  # settled meanwhile: stale
        return 0
    savepoint = conn.begin_nested()
    try:
        settle(conn, [(d.id, "fired")], now)
        done = settle_transfer(
            conn, ctx, d.subject_id, "transfer_expired", now, "not credited in time", skip_locked=True
        )
    except Refused:
        savepoint.rollback()
        settle(conn, [(d.id, "cancelled")], now)  # settled meanwhile: stale
        return 0
    if not done:
        savepoint.rollback()  # a command holds the payment: retried next round
        return 0
    savepoint.commit()
    return 1


def _fire_order_deadlines(conn: Connection, ctx: Context, due: list[DueDeadline], now: datetime) -> int:
    if not due:
        return 0
    current = load_orders(conn, [d.order_id for d in due], skip_locked=True)
    facts = Facts(conn, list(current))
    decisions: dict[str, OrderDecision] = {}
    outcomes: list[tuple[int, str]] = []
    for deadline in due:
        order = current.get(deadline.order_id)
        if order is None:
            continue  # a command holds the order right now: stays armed, retried next round
        already = decisions.get(order.id)
        if already and deadline.kind in already.cancel:
            outcomes.append((deadline.id, "cancelled"))
            continue
        decision = ORDER.fire(order, deadline.kind, now, ctx.policies.get(order.policy_key), facts)
        if decision is None:
            outcomes.append((deadline.id, "cancelled"))  # stale: the order moved on
            continue
        decisions[order.id] = already.then(decision) if already else decision
        current[order.id] = decision.subject
        outcomes.append((deadline.id, "fired"))
    settle(conn, outcomes, now)
    save_decisions(conn, list(decisions.values()), now)
    return sum(1 for _, state in outcomes if state == "fired")
