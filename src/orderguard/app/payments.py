"""Paying an order (R3.5) and the provider's reports on bank transfers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from orderguard.app.access import not_found, require_role, visible_order
from orderguard.app.context import Context, Principal
from orderguard.domain import orders, payments
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import OrderDecision
from orderguard.domain.payments import Payment
from orderguard.providers.payments import PaymentDeclined
from orderguard.store.db import unit_of_work
from orderguard.store.ids import new_id
from orderguard.store.orders_repo import (
    arm_deadlines,
    cancel_deadlines,
    load_order,
    save_decisions,
)
from orderguard.store.payments_repo import insert_payment, load_payment, settle_payment


def pay(ctx: Context, buyer: Principal, order_id: str, method: str) -> Payment:
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        order, _ = visible_order(conn, buyer, load_order(conn, order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        payments.check_method(method, policy)
        amount, currency = order.total.minor, order.currency
        payment_id = new_id("pay")
        if payments.captured_at_once(method, policy):
            decision = orders.pay_captured(order, buyer.id, method, now, policy)
            try:
                ref = ctx.payments.capture(method, amount, currency, payment_id)
            except PaymentDeclined as e:
                raise Refused(Refusal("payment_declined", e.reason, 402)) from e
            payment = payments.open_payment(payment_id, order.id, method, amount, currency, ref, now, policy)
            insert_payment(conn, payment, settled_at=now)
        else:
            decision = orders.transfer_started(order, buyer.id, now, policy)
            ref = ctx.payments.start_transfer(amount, currency, payment_id)
            payment = payments.open_payment(payment_id, order.id, method, amount, currency, ref, now, policy)
            insert_payment(conn, payment, settled_at=None)
            _, arm = payments.PAYMENT.rearm("", payment, now, policy)
            arm_deadlines(conn, [("payment", payment_id, order.id, a.kind, a.due_at) for a in arm], now)
        _tag(decision, payment)
        save_decisions(conn, [decision], now)
    return payment


def _tag(decision: OrderDecision, payment: Payment) -> None:
    for event in decision.events:
        event.data.setdefault("payment_id", payment.id)
        event.data.setdefault("amount", payment.amount)


def report_transfer(ctx: Context, payment_id: str, credited: bool, reason: str | None = None) -> Payment:
    """The provider says a pending transfer was credited, or that it failed."""
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        settle_transfer(
            conn,
            ctx,
            payment_id,
            "credited" if credited else "failed",
            now,
            reason or "the bank rejected the transfer",
        )
        payment = load_payment(conn, payment_id)
    assert payment is not None
    return payment


def settle_transfer(
    conn: Connection,
    ctx: Context,
    payment_id: str,
    event: str,
    now: datetime,
    reason: str,
    *,
    skip_locked: bool = False,
) -> bool:
    """Settle a pending transfer and move its order (credited, failed or expired).

    With `skip_locked` (the scheduler), a payment another transaction holds is
    left alone and False returned, so the scheduler never waits on a command.
    """
    payment = load_payment(conn, payment_id, lock=True, skip_locked=skip_locked)
    if payment is None:
        if skip_locked:
            return False
        raise not_found("payment", payment_id)
    order = load_order(conn, payment.order_id, lock=True)
    assert order is not None
    policy = ctx.policies.get(order.policy_key)
    state = payments.settle(payment, event)
    if event == "credited":
        decision = orders.transfer_credited(order, now, policy)
        reason_saved = None
    else:
        decision = orders.transfer_failed(order, reason, now, policy)
        reason_saved = reason
    settle_payment(conn, payment.id, state, now, reason_saved)
    ended, _ = payments.PAYMENT.deadline_changes(payment.state, state)
    cancel_deadlines(conn, [(payment.id, k) for k in ended], now)
    _tag(decision, payment)
    save_decisions(conn, [decision], now)
    return True
